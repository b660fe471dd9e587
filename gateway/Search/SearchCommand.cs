using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using AuditGateway.Audit.Cli;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;

namespace AuditGateway.Search;

/// <summary>
/// <c>auditgw search</c>: entries matching filters, verified as they are read, each printed with its
/// seq (for <c>auditgw proof inclusion --seq</c>). Exit 0 = the log verified (with or without matches),
/// 1 = tampered (the last line says <c>TAMPERED seq=&lt;n&gt; reason=…</c>), 2 = a bad option or an I/O error.
/// </summary>
internal static class SearchCommand
{
    public static Command Create(TimeProvider time)
    {
        var data = new Option<string>("--data") { Description = "The gateway's data directory (log/, checkpoints/, keys/).", Required = true };
        var publicKey = new Option<string>("--public-key") { Description = "PEM public key of the signer (default: keys/ in the data directory)." };
        var format = new Option<string>("--format") { Description = "table (one line per entry) or json (one {seq, entry} object per line).", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json");
        var filters = new (string Name, string Description)[]
        {
            ("--from", "Entries at or after this time: RFC 3339 (2026-12-02T14:00:00Z) or back from now (-24h, -30m)."),
            ("--to", "Entries before this time (same forms as --from)."),
            ("--kind", "request, config, security or lifecycle."),
            ("--route", "A route id, or the Ingress as namespace/name."),
            ("--identity", "A request's identity subject, or a config change's actor."),
            ("--client", "The client IP of requests."),
            ("--status", "A status code (404) or a class (4xx)."),
            ("--decision", "allow, deny or would-deny."),
            ("--request-id", "One request's id."),
            ("--limit", $"Entries per page (default {SearchQuery.DefaultLimit}, at most {SearchQuery.MaxLimit})."),
            ("--cursor", "The cursor printed by the previous page: go on from there (same filters)."),
        };
        var options = filters.Select(f => new Option<string>(f.Name) { Description = f.Description }).ToList();
        var command = new Command("search", "Find entries (verifying the log as it is read); each is printed with its seq, ready for 'proof inclusion'.");
        command.Options.Add(data);
        options.ForEach(command.Options.Add);
        var verify = new Option<bool>("--verify") { Description = "Read and verify the whole log, even for a search the index answers (by request id, identity, client or route)." };
        command.Options.Add(format);
        command.Options.Add(publicKey);
        command.Options.Add(verify);
        command.SetAction(async (r, ct) =>
        {
            string? Value(string name) => r.GetValue(options.Single(o => o.Name == name));
            var output = r.InvocationConfiguration.Output;
            try
            {
                var query = new SearchParameters
                {
                    From = Value("--from"),
                    To = Value("--to"),
                    Kind = Value("--kind"),
                    Route = Value("--route"),
                    Identity = Value("--identity"),
                    Client = Value("--client"),
                    Status = Value("--status"),
                    Decision = Value("--decision"),
                    RequestId = Value("--request-id"),
                    Limit = Value("--limit"),
                    Cursor = Value("--cursor"),
                }.Parse(time, commandLine: true);
                var dataDirectory = r.GetValue(data)!;
                using var key = AuditCommands.LoadPublicKey(dataDirectory, r.GetValue(publicKey));
                var json = r.GetValue(format) == "json";
                var sha = Sha256Selection.Select(Sha256Choice.Auto).Sha256;
                void Print(LoggedEntry entry, ReadOnlySpan<byte> line) =>
                    output.WriteLine(json ? $"{{\"seq\":{entry.Seq.ToString(CultureInfo.InvariantCulture)},\"entry\":{Encoding.UTF8.GetString(line)}}}" : EntrySummary.Describe(entry).TrimStart());
                var page = (r.GetValue(verify) ? null : IndexedSearch.TryRun(dataDirectory, key, sha, query, Print))
                    ?? LogSearch.Run(dataDirectory, key, sha, query, Print);
                if (!page.Verified.Intact)
                {
                    await output.WriteLineAsync($"TAMPERED seq={page.Verified.BadSeq} reason={page.Verified.Reason}");
                    return AuditCommands.Tampered;
                }

                if (page.NextCursor is { } next)
                {
                    await output.WriteLineAsync(json ? $"{{\"nextCursor\":\"{next}\"}}" : $"more: --cursor {next}");
                }

                if (page.ProvenIndividually)
                {
                    var size = page.Verified.Entries.ToString(CultureInfo.InvariantCulture);
                    var root = Convert.ToHexStringLower(page.Verified.Root);
                    await output.WriteLineAsync(json
                        ? $"{{\"provenIn\":{{\"treeSize\":{size},\"root\":\"{root}\"}}}}"
                        : $"proven: each result is in the signed tree of size {size} (root {root}); found through the index, the rest of the log was not read (--verify reads it)");
                }

                return AuditCommands.Intact;
            }
            catch (Exception ex) when (ex is SearchParameterException or IOException or UnauthorizedAccessException or FormatException
                or InvalidOperationException or InvalidDataException or CryptographicException)
            {
                await r.InvocationConfiguration.Error.WriteLineAsync($"auditgw search: {ex.Message}");
                return AuditCommands.UsageError;
            }
        });
        return command;
    }
}
