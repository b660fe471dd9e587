using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Reports;

/// <summary>
/// A report from the rollups: each minute of a block that lies wholly inside [from, to) is merged from
/// its rollup; the entries of a minute the range cuts, and of blocks that have no rollup yet (the newest
/// entries), are read from the log. Fast over any range, but not verified: the rollups are derived data
/// that <c>auditgw verify</c> checks, and <c>report --verify</c> reads and verifies every entry instead.
/// </summary>
internal static class RollupReport
{
    /// <summary>The report, or null when there are no rollups to use (or a line could not be read: the verified scan then says what is wrong).</summary>
    public static Report? TryCompute(string data, DateTimeOffset? from, DateTimeOffset? to, ReportLimits limits)
    {
        var names = RollupStore.List(data);
        if (names.Count == 0)
        {
            return null;
        }

        var latestPath = LogLayout.LatestCheckpoint(data);
        var latest = File.Exists(latestPath) ? CheckpointStore.TryRead(latestPath, out _) : null;
        var (logStart, segments) = LogStart.Find(data, LogLayout.Segments(data));
        var start = logStart.Seq;
        var rollups = Read(data, [.. names.Where(n => n >= start)]);
        if (rollups.Count == 0 || segments.Count == 0)
        {
            return null;
        }

        // The timelines divide the range, or the minutes the rollups hold, from the start.
        var first = rollups.Min(r => r.Minutes.Count > 0 ? r.Minutes[0].Start : DateTimeOffset.MaxValue);
        var last = rollups.Max(r => r.Minutes.Count > 0 ? r.Minutes[^1].Start.AddMinutes(1) : DateTimeOffset.MinValue);
        var aggregator = first < last ? new ReportAggregator(from, to, limits, (from ?? first, to ?? last)) : new ReportAggregator(from, to, limits);
        long scanned = 0;
        bool Scan(long a, long? b, Func<LoggedEntry, bool> keep) => RollupStore.TryReadEntries(segments, a, b, entry =>
        {
            if (keep(entry))
            {
                scanned++;
                aggregator.Add(entry);
            }
        }, out _);

        var next = start;
        foreach (var rollup in rollups)
        {
            // Entries before this block that no rollup covers are read from the log.
            if (rollup.FirstSeq > next && !Scan(next, rollup.FirstSeq, static _ => true))
            {
                return null;
            }

            foreach (var minute in rollup.Minutes)
            {
                var begins = minute.Start;
                var ends = begins.AddMinutes(1);
                if ((to is { } t && begins >= t) || (from is { } f && ends <= f))
                {
                    aggregator.Saw(minute.FirstSeq, minute.LastSeq, minute.Entries);
                }
                else if ((from is null || begins >= from) && (to is null || ends <= to))
                {
                    aggregator.Merge(minute);
                }
                else if (!Scan(minute.FirstSeq, minute.LastSeq + 1, e => RollupStore.MinuteOf(e.Timestamp) == minute.Minute))
                {
                    return null;
                }
            }

            next = rollup.EndSeq;
        }

        if (!Scan(next, null, static _ => true))
        {
            return null;
        }

        var checkpoint = latest?.Checkpoint is { } c ? new CheckpointInfo(c.Origin, c.Size, Convert.ToBase64String(c.Root)) : null;
        var report = aggregator.Build(new ReportSource
        {
            Mode = "rollups",
            Checkpoint = checkpoint,
            EntriesAfterCheckpoint = Math.Max(0, (aggregator.LastSeq + 1 ?? 0) - (checkpoint?.Size ?? start)),
            Verification = ReportSource.NotVerified,
            RollupBlocks = rollups.Count,
            EntriesScanned = scanned,
        });
        return report with { Identities = [] };
    }

    /// <summary>The readable rollups of <paramref name="firsts"/>, in order, decoded on every core (unreadable ones are left out: their entries are read from the log).</summary>
    private static List<RollupFile> Read(string data, long[] firsts)
    {
        var files = new RollupFile?[firsts.Length];
        Parallel.For(0, firsts.Length, i => files[i] = RollupStore.TryRead(data, firsts[i], out _));
        return [.. files.OfType<RollupFile>()];
    }
}
