using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit;

/// <summary>Where an entry landed in the log.</summary>
internal readonly record struct AuditReceipt(long Seq);

/// <summary>An entry as published to live subscribers, once it is durable.</summary>
internal sealed record LiveEntry(long Seq, AuditKind Kind, string Json);

/// <summary>The tamper-evident log, as the request path, the config pipeline and the admin API use it.</summary>
internal interface IAuditLog
{
    /// <summary>
    /// Queues an entry for the writer (the request path). Completes synchronously when the queue
    /// has room; when it is full, completes once there is room (back-pressure, never a drop).
    /// The entry is durable within the flush interval.
    /// </summary>
    ValueTask EnqueueAsync(AuditEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Appends an entry and completes once it is fsynced (write-ahead for config changes).</summary>
    Task<AuditReceipt> AppendDurableAsync(AuditEntry entry, CancellationToken cancellationToken = default);

    /// <summary>The newest signed checkpoint, or null before the first.</summary>
    SignedCheckpoint? LatestCheckpoint { get; }

    /// <summary>Whether the log can be written now, and why not (readiness, the request path's gate, metrics).</summary>
    LogAvailability Availability { get; }

    /// <summary>How many entries are durable.</summary>
    long DurableSize { get; }

    /// <summary>Durable entries from now on, until cancelled. A subscriber that falls behind loses the oldest unread entries (the log keeps them).</summary>
    IAsyncEnumerable<LiveEntry> SubscribeAsync(CancellationToken cancellationToken);
}
