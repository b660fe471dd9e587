using System.CommandLine;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Writer;

namespace AuditGateway.Audit.Cli;

internal static partial class AuditCommands
{
    /// <summary>
    /// Hidden: appends sample entries as fast as it can (the crash test kills it mid-write).
    /// Prints <c>ready</c> once open and <c>durable &lt;seq&gt;</c> for each durable append it made.
    /// </summary>
    private static Command Load(TimeProvider time)
    {
        var data = DataOption();
        var count = new Option<long>("--count") { Description = "Entries to write; 0 = until killed.", DefaultValueFactory = _ => 0 };
        var durableEvery = new Option<int>("--durable-every") { Description = "Every n-th entry is a durable append.", DefaultValueFactory = _ => 1000 };
        var rate = new Option<int>("--rate")
        {
            Description = "Varied entries (40 routes, many identities and clients, mixed statuses) stamped this many per second, ending now; 0 = the one sample entry, stamped now.",
            DefaultValueFactory = _ => 0,
        };
        var command = new Command("audit-load", "Write sample audit entries as fast as possible (testing).") { Hidden = true };
        command.Options.Add(data);
        command.Options.Add(rate);
        command.Options.Add(count);
        command.Options.Add(durableEvery);
        command.SetAction((r, ct) => Guard(r, "audit-load", async () =>
        {
            var output = r.InvocationConfiguration.Output;
            await using var log = await AuditLog.OpenAsync(new AuditOptions { DataDirectory = r.GetValue(data)!, NodeId = "load" }, cancellationToken: ct);
            await output.WriteLineAsync("ready");
            await output.FlushAsync(ct);
            var total = r.GetValue(count);
            var every = Math.Max(1, r.GetValue(durableEvery));
            var perSecond = r.GetValue(rate);
            var start = time.GetUtcNow() - TimeSpan.FromSeconds(perSecond > 0 ? (double)total / perSecond : 0);
            for (long i = 0; total == 0 || i < total; i++)
            {
                var entry = perSecond > 0
                    ? SampleEntries.Varied(i, start + TimeSpan.FromTicks(i * TimeSpan.TicksPerSecond / perSecond))
                    : SampleEntries.Request(i, time.GetUtcNow());
                if (i % every == every - 1)
                {
                    var receipt = await log.AppendDurableAsync(entry, ct);
                    await output.WriteLineAsync($"durable {receipt.Seq}");
                    await output.FlushAsync(ct);
                }
                else
                {
                    await log.EnqueueAsync(entry, ct);
                }
            }

            return Intact;
        }));
        return command;
    }
}
