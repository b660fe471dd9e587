using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Writer;

/// <summary>What streaming the existing log on open found: the entries before a torn tail, and the tail.</summary>
internal sealed class RecoveredLog(ISha256 sha, LogStart start)
{
    /// <summary>Where the log begins (seq 0, or the first seq kept by a prune).</summary>
    public LogStart Start { get; } = start;

    public long Size { get; set; } = start.Seq;

    /// <summary>SHA-256 of the last line (zeros for an empty log): the next entry's <c>prev</c>.</summary>
    public byte[] LastLineHash { get; } = [.. start.Prev];

    public MerkleFrontier Tree { get; } = MerkleFrontier.Restore(sha, start.Seq, start.Frontier);

    /// <summary>The last entry, or null for an empty log.</summary>
    public LoggedEntry? Last { get; set; }

    /// <summary>The last segment, its entry count and byte length after the cut; null when there is none.</summary>
    public SegmentFile? LastSegment { get; set; }

    public long LastSegmentEntries { get; set; }

    public long LastSegmentBytes { get; set; }

    /// <summary>The torn tail: bytes of the last segment after its last readable entry.</summary>
    public long TruncatedBytes { get; set; }

    public int TruncatedLines { get; set; }

    /// <summary>The root of the first <c>checkpointSize</c> entries, when the log reached that size.</summary>
    public byte[]? RootAtCheckpoint { get; set; }

    /// <summary>True when the previous run did not end with a clean stop.</summary>
    public bool Unclean => TruncatedBytes > 0 || (Last is not null && Last.Body is not LifecycleBody { Event: LifecycleEvent.Stop });
}
