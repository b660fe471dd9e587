using System.Diagnostics;
using System.Globalization;
using AuditGateway.Audit;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Writer;

namespace AuditGateway.Bench;

/// <summary>
/// The request path's cost: a Stopwatch-timestamp histogram of <see cref="IAuditLog.EnqueueAsync"/>
/// while the real writer runs (fsyncs included), reported as percentiles. Paced at a request rate
/// the writer keeps up with (the normal case), then unpaced (the queue full: back-pressure).
/// </summary>
internal static class EnqueueLatency
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 500_000;
        var rate = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 50_000;
        var data = Directory.CreateTempSubdirectory("auditgw-bench-").FullName;
        try
        {
            var entries = Enumerable.Range(0, 4096).Select(i => SampleEntries.Request(i, DateTimeOffset.UnixEpoch)).ToArray();
            await using var log = await AuditLog.OpenAsync(new AuditOptions { DataDirectory = data, NodeId = "bench" });
            for (var warmup = 0; warmup < 50_000; warmup++)
            {
                await log.EnqueueAsync(entries[warmup % entries.Length]);
            }

            Report($"paced at {rate}/s", await MeasureAsync(log, entries, count, Stopwatch.Frequency / rate));
            Report("unpaced (queue full, back-pressure)", await MeasureAsync(log, entries, count, 0));
            return 0;
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    private static async Task<long[]> MeasureAsync(AuditLog log, AuditEntry[] entries, int count, long period)
    {
        var samples = new long[count];
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            var due = start + (i * period);
            while (Stopwatch.GetTimestamp() < due)
            {
                Thread.SpinWait(20);
            }

            var started = Stopwatch.GetTimestamp();
            var pending = log.EnqueueAsync(entries[i % entries.Length]);
            if (!pending.IsCompletedSuccessfully)
            {
                await pending;
            }

            samples[i] = Stopwatch.GetTimestamp() - started;
        }

        return samples;
    }

    private static void Report(string label, long[] samples)
    {
        Array.Sort(samples);
        double Us(double q) => samples[(int)Math.Min(samples.Length - 1, q * samples.Length)] * 1e6 / Stopwatch.Frequency;
        Console.WriteLine($"enqueue {label}, {samples.Length} entries: p50={Us(0.50):F2}us p90={Us(0.90):F2}us p99={Us(0.99):F2}us p99.9={Us(0.999):F2}us max={Us(1):F1}us");
    }
}
