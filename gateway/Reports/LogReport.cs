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
