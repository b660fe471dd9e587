using System.CommandLine;
using AuditGateway.Configuration;
using AuditGateway.Audit.Cli;

namespace AuditGateway.Reports;

/// <summary><c>auditgw report</c>: a report computed from the log, verifying it as it is read. Exit 0 intact, 1 tampered, 2 usage or I/O error.</summary>
internal static class ReportCommand
{
    public static Command Create(TimeProvider time)
    {
        var data = AuditCommands.DataOption();
        var from = new Option<string>("--from") { Description = "Entries from this time on: RFC 3339 or relative (-24h, -30m). Default: the start of the log." };
        var to = new Option<string>("--to") { Description = "Entries before this time: RFC 3339 or relative. Default: the end of the log." };
        var by = new Option<string>("--by") { Description = "route (default), identity, client or status." };
        var format = new Option<string>("--format") { Description = "table (default), json, csv or html." };
        var output = new Option<string>("--out") { Description = "Write the report to this file instead of standard output." };
        var publicKey = new Option<string>("--public-key") { Description = "PEM public key of the signer (default: keys/ in the data directory)." };
        var verify = new Option<bool>("--verify") { Description = "Read and verify every entry, even where the per-minute rollups could answer." };
        var rollups = new Option<bool>("--rollups") { Description = "By route or status: merge the per-minute rollups (not verified), whatever the log's size." };
        var command = new Command(
            "report",
            $"Reports from the log, verified while read: per route, identity, client or status, and the config changes. By route or status, a log of more than {LogReport.AutoRollupEntries:N0} entries is reported from its per-minute rollups (not verified) unless --verify is given.");
        foreach (var option in new Option[] { data, from, to, by, format, output, publicKey, verify, rollups })
        {
            command.Options.Add(option);
        }

        command.SetAction((r, ct) => AuditCommands.Guard(r, "report", () =>
        {
            var kind = ParseBy(r.GetValue(by));
            var chosen = r.GetValue(format) is { } f ? ReportRenderer.ParseFormat(f) ?? throw new FormatException($"--format '{f}': expected table, json, csv or html") : ReportFormat.Table;
            var start = Time("--from", r.GetValue(from), time);
            var end = Time("--to", r.GetValue(to), time);

            var dataDirectory = r.GetValue(data)!;
            using var key = AuditCommands.LoadPublicKey(dataDirectory, r.GetValue(publicKey));
            var source = (r.GetValue(verify), r.GetValue(rollups)) switch
            {
                (true, true) => throw new FormatException("--verify and --rollups: choose one"),
                (true, _) => ReportSourceChoice.Verify,
                (_, true) => ReportSourceChoice.Rollups,
                _ => ReportSourceChoice.Auto,
            };
            var report = LogReport.Compute(dataDirectory, key, start, end, kind, source, new ReportLimits());
            var text = ReportRenderer.Render(report, kind, chosen);
            if (r.GetValue(output) is { } path)
            {
                File.WriteAllText(path, text);
            }
            else
            {
                r.InvocationConfiguration.Output.Write(text);
            }

            if (report.Source.BadSeq is { } bad)
            {
                r.InvocationConfiguration.Error.WriteLine($"TAMPERED seq={bad} reason={report.Source.Reason}");
                return AuditCommands.Tampered;
            }

            return AuditCommands.Intact;
        }));
        return command;
    }

    private static DateTimeOffset? Time(string option, string? text, TimeProvider time) =>
        TimeArgument.Problem(option, text, time, out var value) is { } problem ? throw new FormatException(problem) : value;

    private static ReportKind ParseBy(string? text) => text switch
    {
        null or "route" => ReportKind.Routes,
        "identity" => ReportKind.Identities,
        "client" => ReportKind.Clients,
        "status" => ReportKind.Statuses,
        _ => throw new FormatException($"--by '{text}': expected route, identity, client or status"),
    };
}
