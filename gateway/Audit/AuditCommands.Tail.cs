using System.CommandLine;
using System.Globalization;
using System.Text;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit;

internal static partial class AuditCommands
{
    /// <summary>How often <c>tail --follow</c> looks for new entries.</summary>
    internal static readonly TimeSpan FollowPoll = TimeSpan.FromMilliseconds(200);

    private static Command Tail(TimeProvider time)
    {
        var data = DataOption();
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing entries as they are written." };
        var kind = new Option<AuditKind?>("--kind") { Description = "Only entries of this kind: request, config, security, lifecycle." };
        kind.AcceptOnlyFromAmong("request", "config", "security", "lifecycle");
        kind.CustomParser = r => Enum.Parse<AuditKind>(r.Tokens[0].Value, ignoreCase: true);
        var command = new Command("tail", "Print the log as human-readable lines.");
        command.Options.Add(data);
        command.Options.Add(follow);
        command.Options.Add(kind);
        command.SetAction((r, ct) => Guard(r, "tail", async () =>
        {
            var dataDirectory = r.GetValue(data)!;
            if (!Directory.Exists(LogLayout.LogDirectory(dataDirectory)))
            {
                throw new DirectoryNotFoundException($"{LogLayout.LogDirectory(dataDirectory)} does not exist");
            }

            var only = r.GetValue(kind);
            var output = r.InvocationConfiguration.Output;
            using var reader = new LogReader(dataDirectory) { Follow = r.GetValue(follow) };
            while (!ct.IsCancellationRequested)
            {
                while (reader.Read())
                {
                    var entry = reader.Unterminated ? null : EntryParser.TryParse(reader.Line, out _);
                    if (entry is null)
                    {
                        await output.WriteLineAsync($"(unreadable line in {Path.GetFileName(reader.Segment.Path)} at byte {reader.Offset})");
                    }
                    else if (only is null || entry.Kind == only)
                    {
                        await output.WriteLineAsync(Describe(entry));
                    }
                }

                if (!reader.Follow)
                {
                    break;
                }

                // Interrupting --follow is how it ends: a cancelled flush or wait is not an error.
                try
                {
                    await output.FlushAsync(ct);
                    await Task.Delay(FollowPoll, time, ct);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    break;
                }
            }

            return Intact;
        }));
        return command;
    }

    /// <summary>One line per entry: seq, time, kind, then the facts that matter for that kind.</summary>
    internal static string Describe(LoggedEntry entry)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{entry.Seq,8} {entry.Timestamp.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'} {entry.Kind.ToString().ToLowerInvariant(),-9} ");
        switch (entry.Body)
        {
            case RequestBody r:
                sb.Append(CultureInfo.InvariantCulture, $"{r.Status} {r.Decision.Decision.ToString().ToLowerInvariant()} {r.Method} {r.Scheme}://{r.Host}{r.Path}");
                if (r.Query is not null)
                {
                    sb.Append('?').Append(r.Query);
                }

                sb.Append(CultureInfo.InvariantCulture, $" client={r.Client.Ip} who={r.Identity.Subject ?? "-"} route={r.Route?.Id ?? "-"} {r.LatencyUs}us");
                if (r.Decision.Rule is not null)
                {
                    sb.Append(" rule=").Append(r.Decision.Rule);
                }

                break;
            case ConfigBody c:
                sb.Append(CultureInfo.InvariantCulture, $"{c.Operation} {c.Object.Kind} {c.Object.Namespace}/{c.Object.Name} by={c.Actor.Username ?? "-"} source={c.Source.ToString().ToLowerInvariant()} revision={c.RevisionAfter}");
                sb.Append(CultureInfo.InvariantCulture, $" +{c.Effect.Added.Count} -{c.Effect.Removed.Count} ~{c.Effect.Changed.Count}");
                if (c.Errors.Count > 0)
                {
                    sb.Append(" refused: ").AppendJoin("; ", c.Errors);
                }

                break;
            case SecurityBody s:
                sb.Append(CultureInfo.InvariantCulture, $"{s.Action.ToString().ToLowerInvariant()} {s.Subject} by={s.By}");
                if (s.Reason is not null)
                {
                    sb.Append(" reason=").Append(s.Reason);
                }

                break;
            case LifecycleBody l:
                sb.Append(l.Event.ToString().ToLowerInvariant());
                if (l.Event == LifecycleEvent.Recovery)
                {
                    sb.Append(CultureInfo.InvariantCulture, $" cut {l.TruncatedBytes} bytes ({l.TruncatedLines} lines) from {l.Segment}");
                }

                break;
        }

        return sb.ToString();
    }
}
