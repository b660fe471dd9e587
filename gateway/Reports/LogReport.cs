using System.Security.Cryptography;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Storage;
using AuditGateway.Audit.Verification;

namespace AuditGateway.Reports;

/// <summary>
/// A report computed from a data directory in one pass of <see cref="LogVerifier"/>: entries are
/// aggregated as they are checked, and the numbers are kept only when the whole log verifies. A
/// directory the gateway is writing works too: the reading ends at the last whole line.
/// </summary>
internal static class LogReport
{
    /// <summary>
    /// A log of more entries than this (rolled up) is reported by route or status from its rollups unless
    /// asked otherwise: about what <c>verify</c> reads in a second. A smaller one is read and verified.
    /// </summary>
    public const long AutoRollupEntries = 1_000_000;

    /// <summary>
    /// The report of <paramref name="kind"/>, by route or status from the rollups when <paramref name="source"/>
    /// says so (or leaves it to the log's size) and there are any; otherwise, and by identity or client,
    /// from a verified pass over the log.
    /// </summary>
    public static Report Compute(string dataDirectory, ECDsa? publicKey, DateTimeOffset? from, DateTimeOffset? to, ReportKind kind, ReportSourceChoice source, ReportLimits limits)
    {
        var rollups = source switch
        {
            ReportSourceChoice.Rollups => true,
            ReportSourceChoice.Auto => RollupStore.List(dataDirectory).Count * RollupStore.BlockSize > AutoRollupEntries,
            _ => false,
        };
        return rollups && kind is ReportKind.Routes or ReportKind.Statuses && RollupReport.TryCompute(dataDirectory, from, to, limits) is { } fast
            ? fast
            : Compute(dataDirectory, publicKey, from, to, limits);
    }

    public static Report Compute(string dataDirectory, ECDsa? publicKey, DateTimeOffset? from, DateTimeOffset? to, ReportLimits limits)
    {
        // Read before the verifier lists the checkpoints, so it is one of those it checks (or older than all of them).
        var latestPath = LogLayout.LatestCheckpoint(dataDirectory);
        var latest = File.Exists(latestPath) ? CheckpointStore.TryRead(latestPath, out _) : null;
        var aggregator = new ReportAggregator(from, to, limits);
        using var verifier = new LogVerifier(dataDirectory, publicKey, trusted: null, Sha256Selection.Select(Sha256Choice.Auto).Sha256)
        {
            OnEntry = (entry, _) => aggregator.Add(entry),
        };
        var result = verifier.Verify();
        var checkpoint = latest?.Checkpoint is { } c ? new CheckpointInfo(c.Origin, c.Size, Convert.ToBase64String(c.Root)) : null;
        var source = new ReportSource
        {
            Mode = "log",
            Checkpoint = checkpoint,
            EntriesAfterCheckpoint = Math.Max(0, result.Entries - (checkpoint?.Size ?? result.FirstSeq)),
            Verification = result.Intact ? ReportSource.Intact : ReportSource.Tampered,
            BadSeq = result.BadSeq,
            Reason = result.Reason,
        };
        var report = aggregator.Build(source);
        return result.Intact
            ? report
            : report with { Slices = null, Routes = [], Identities = [], Clients = [], Statuses = [], Changes = [] };
    }
}

/// <summary>Where a report comes from: <see cref="Auto"/> by the log's size, the rollups, or a verified pass over every entry.</summary>
internal enum ReportSourceChoice
{
    Auto,
    Rollups,
    Verify,
}
