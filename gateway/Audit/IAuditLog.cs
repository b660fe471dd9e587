using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit;

/// <summary>Where an entry landed in the log.</summary>
internal readonly record struct AuditReceipt(long Seq);

/// <summary>An entry as published to live subscribers, once it is durable.</summary>
internal sealed record LiveEntry(long Seq, AuditKind Kind, string Json);

/// <summary>
/// Entries just made durable, as the writer had them before encoding (no line to parse): entry
/// <paramref name="firstSeq"/> + i has <paramref name="timestamps"/>[i] and <paramref name="bodies"/>[i].
/// Called on the writer's thread after each write: an observer must be quick and must not block.
/// </summary>
internal delegate void DurableEntriesObserver(long firstSeq, ReadOnlySpan<DateTimeOffset> timestamps, ReadOnlySpan<AuditBody> bodies);

/// <summary>Typed durable entries for in-memory aggregates (live reports), without the cost of the live feed's lines.</summary>
internal interface IDurableEntries
{
    /// <summary>From now on, <paramref name="observer"/> sees every durable entry.</summary>
    void Observe(DurableEntriesObserver observer);
}

/// <summary>Checkpoints as they are signed, for the Redis witness.</summary>
internal interface ISignedCheckpoints
{
    /// <summary>
    /// From now on, <paramref name="observer"/> sees every checkpoint once it is stored, on the writer's
    /// thread: it must be quick and must neither block nor throw.
    /// </summary>
    void ObserveCheckpoints(Action<SignedCheckpoint> observer);
}

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
