using System.CommandLine;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Cli;

/// <summary>
/// <c>tail --redis URL</c>: prints the entry streams of every node in a shared Redis, as <c>tail</c> prints
/// a log, <paramref name="follow"/>ing them if asked and keeping only entries of <paramref name="kind"/>
/// when set; returns the exit code. It lives in Redis/, which Audit/ may not use, so the host passes it in.
/// </summary>
internal delegate Task<int> EntryStreamTail(string url, AuditKind? kind, bool follow, TimeProvider time, TextWriter output, TextWriter error, CancellationToken cancellationToken);

internal static partial class AuditCommands
{
    /// <summary>How often <c>tail --follow</c> looks for new entries.</summary>
    internal static readonly TimeSpan FollowPoll = TimeSpan.FromMilliseconds(200);

    /// <summary>The tail verb; with <paramref name="streamTail"/> it also takes <c>--redis URL</c> instead of <c>--data DIR</c>.</summary>
    private static Command Tail(TimeProvider time, EntryStreamTail? streamTail)
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
        var redis = new Option<string>("--redis")
        {
            Description = "Instead of --data: the entries every node streams to this Redis (redis://… or rediss://…; the gateways run with redis.streamEntries), each line starting with its node.",
        };
        if (streamTail is not null)
        {
            data.Required = false;
            command.Options.Add(redis);
            command.Validators.Add(r =>
            {
                if ((r.GetResult(data) is null) == (r.GetResult(redis) is null))
                {
                    r.AddError("tail takes either --data DIR or --redis URL");
                }
            });
        }

        command.SetAction((r, ct) => Guard(r, "tail", async () =>
        {
            if (r.GetValue(redis) is { } url)
            {
                return await streamTail!(url, r.GetValue(kind), r.GetValue(follow), time, r.InvocationConfiguration.Output, r.InvocationConfiguration.Error, ct);
            }

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
