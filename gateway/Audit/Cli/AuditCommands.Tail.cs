using System.CommandLine;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Cli;

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
                        await output.WriteLineAsync(EntrySummary.Describe(entry));
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
}
