using System.Diagnostics;
using System.Globalization;
using AuditGateway.Audit;
using AuditGateway.Audit.Entries;

namespace AuditGateway.Bench;

/// <summary>
/// The request path's cost: a Stopwatch-timestamp histogram of <see cref="IAuditLog.EnqueueAsync"/>
/// while the real writer runs (fsyncs included), reported as percentiles.
/// </summary>
internal static class EnqueueLatency
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var data = Directory.CreateTempSubdirectory("auditgw-bench-").FullName;
        try
        {
            var entries = Enumerable.Range(0, 4096).Select(i => SampleEntries.Request(i, DateTimeOffset.UnixEpoch)).ToArray();
            var samples = new long[count];
            await using (var log = await AuditLog.OpenAsync(new AuditOptions { DataDirectory = data, NodeId = "bench" }))
            {
                for (var warmup = 0; warmup < 100_000; warmup++)
                {
                    await log.EnqueueAsync(entries[warmup % entries.Length]);
                }

                for (var i = 0; i < count; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    var pending = log.EnqueueAsync(entries[i % entries.Length]);
                    if (!pending.IsCompletedSuccessfully)
                    {
                        await pending;
                    }

                    samples[i] = Stopwatch.GetTimestamp() - started;
                }
            }

            Array.Sort(samples);
            double Us(double q) => samples[(int)Math.Min(count - 1, q * count)] * 1e6 / Stopwatch.Frequency;
            Console.WriteLine($"enqueue latency over {count} entries: p50={Us(0.50):F2}us p90={Us(0.90):F2}us p99={Us(0.99):F2}us p99.9={Us(0.999):F2}us max={Us(1):F1}us");
            return 0;
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
