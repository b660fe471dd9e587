using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace AuditGateway.Policy;

/// <summary>A blocked client: until <see cref="ExpiresAt"/>, its requests are refused.</summary>
/// <param name="Detector">What blocked it: a <see cref="ProbeDetector"/> rule (<c>probe-path</c>, <c>denied-rate</c>, <c>not-found-rate</c>) or an operator.</param>
/// <param name="Evidence">Short human-readable text: counts, the last few paths.</param>
internal sealed record BlockEntry(IPAddress Address, DateTimeOffset BlockedAt, DateTimeOffset ExpiresAt, string Detector, string Evidence)
{
    /// <summary>With replicas (docs/replicas.md): the node that detected it; null on a single node.</summary>
    public string? Node { get; init; }
}

internal enum BlockChangeKind
{
    Blocked,
    Unblocked,
}

/// <summary>
/// A change to the block list, for <c>security</c> audit entries (docs/audit-log.md). For
/// <see cref="BlockChangeKind.Unblocked"/>, <see cref="By"/> is the operator, <c>expired</c>, or
/// <c>evicted</c> (the list was full); for <see cref="BlockChangeKind.Blocked"/> it is the detector.
/// </summary>
internal sealed record BlockChange(BlockChangeKind Kind, BlockEntry Entry, string By, DateTimeOffset At)
{
    /// <summary>With replicas: the node where the change was made (a block: the detecting node); null on a single node.</summary>
    public string? Node { get; init; }
}

/// <summary>
/// Blocked client addresses. IPv4-mapped IPv6 addresses are the same client as their IPv4 form.
/// In-process (<see cref="InMemoryBlockList"/>), or shared by every replica through Redis
/// (<see cref="Redis.SharedBlockList"/>, docs/replicas.md).
/// </summary>
internal interface IBlockList
{
    /// <summary>Raised after every block and unblock (including expiry), outside any lock; handlers must be quick and not throw.</summary>
    event EventHandler<BlockChange>? Changed;

    /// <summary>Active blocks.</summary>
    int Count { get; }

    bool IsBlocked(IPAddress address, [NotNullWhen(true)] out BlockEntry? entry);

    /// <summary>
    /// Blocks <paramref name="address"/> from now for <paramref name="duration"/>. If it is already
    /// blocked for longer, the existing entry is returned unchanged and no event is raised.
    /// </summary>
    BlockEntry Block(IPAddress address, TimeSpan duration, string detector, string evidence);

    /// <summary>Removes an active block; false if the address was not blocked. <paramref name="by"/> names who did it.</summary>
    bool Unblock(IPAddress address, string by);

    /// <summary>Active blocks, soonest expiry first.</summary>
    IReadOnlyList<BlockEntry> List();
}
