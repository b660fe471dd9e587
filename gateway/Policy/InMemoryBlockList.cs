using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace AuditGateway.Policy;

/// <summary>
/// The block list of a single node. Expiry uses the wall clock of <see cref="TimeProvider"/>
/// (entries carry absolute times for the admin API); it is applied lazily on lookup and by a
/// cleanup every 30 s. At most <c>capacity</c> entries; past that the soonest-expiring is evicted.
/// </summary>
internal sealed partial class InMemoryBlockList : IBlockList, IDisposable
{
    public const int DefaultCapacity = 100_000;

    private static readonly TimeSpan CleanupInterval = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<IPAddress, BlockEntry> _entries = new();
    private readonly TimeProvider _time;
    private readonly ILogger<InMemoryBlockList> _logger;
    private readonly int _capacity;
    private readonly ITimer _cleanup;
    private readonly Lock _writeGate = new();
    private int _count;

    public InMemoryBlockList(TimeProvider time, ILogger<InMemoryBlockList> logger, int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _time = time;
        _logger = logger;
        _capacity = capacity;
        _cleanup = time.CreateTimer(static state => ((InMemoryBlockList)state!).RemoveExpired(), this, CleanupInterval, CleanupInterval);
    }

    public event EventHandler<BlockChange>? Changed;

    public int Count => Volatile.Read(ref _count);

    public bool IsBlocked(IPAddress address, [NotNullWhen(true)] out BlockEntry? entry)
    {
        entry = null;
        if (Volatile.Read(ref _count) == 0)
        {
            return false;
        }

        var key = IpAddresses.Normalize(address);
        if (!_entries.TryGetValue(key, out var found))
        {
            return false;
        }

        var now = _time.GetUtcNow();
        if (found.ExpiresAt <= now)
        {
            RemoveIfSame(found, "expired", now);
            return false;
        }

        entry = found;
        return true;
    }

    public BlockEntry Block(IPAddress address, TimeSpan duration, string detector, string evidence)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        ArgumentException.ThrowIfNullOrEmpty(detector);
        var now = _time.GetUtcNow();
        return Add(new BlockEntry(IpAddresses.Normalize(address), now, now + duration, detector, evidence ?? ""), now);
    }

    /// <summary>
    /// Adds a block as it is, with its own times and node (one another replica made). Like
    /// <see cref="Block"/>: a longer block already in force is kept and returned; an expired one is ignored.
    /// </summary>
    public BlockEntry Add(BlockEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var now = _time.GetUtcNow();
        return entry.ExpiresAt <= now ? entry : Add(entry with { Address = IpAddresses.Normalize(entry.Address) }, now);
    }

    private BlockEntry Add(BlockEntry entry, DateTimeOffset now)
    {
        var key = entry.Address;
        var detector = entry.Detector;
        BlockChange? dropped = null;
        lock (_writeGate)
        {
            if (_entries.TryGetValue(key, out var existing) && existing.ExpiresAt > now)
            {
                if (existing.ExpiresAt >= entry.ExpiresAt)
                {
                    return existing;
                }

                _entries[key] = entry;
            }
            else
            {
                if (existing is not null && _entries.TryRemove(KeyValuePair.Create(key, existing)))
                {
                    Interlocked.Decrement(ref _count);
                    dropped = new BlockChange(BlockChangeKind.Unblocked, existing, "expired", existing.ExpiresAt);
                }
                else if (Volatile.Read(ref _count) >= _capacity)
                {
                    dropped = EvictSoonestExpiring(now);
                }

                _entries[key] = entry;
                Interlocked.Increment(ref _count);
            }
        }

        if (dropped is not null)
        {
            Raise(dropped);
        }

        Raise(new BlockChange(BlockChangeKind.Blocked, entry, detector, now));
        return entry;
    }

    public bool Unblock(IPAddress address, string by)
    {
        ArgumentException.ThrowIfNullOrEmpty(by);
        var key = IpAddresses.Normalize(address);
        var now = _time.GetUtcNow();
        if (!_entries.TryGetValue(key, out var found))
        {
            return false;
        }

        var expired = found.ExpiresAt <= now;
        return RemoveIfSame(found, expired ? "expired" : by, now) && !expired;
    }

    public IReadOnlyList<BlockEntry> List()
    {
        var now = _time.GetUtcNow();
        return [.. _entries.Values.Where(e => e.ExpiresAt > now).OrderBy(e => e.ExpiresAt).ThenBy(e => e.Address.ToString(), StringComparer.Ordinal)];
    }

    /// <summary>Removes every expired entry (raising <c>Unblocked</c> by <c>expired</c>); the timer calls this every 30 s.</summary>
    internal int RemoveExpired()
    {
        var now = _time.GetUtcNow();
        var removed = 0;
        foreach (var entry in _entries.Values)
        {
            if (entry.ExpiresAt <= now && RemoveIfSame(entry, "expired", now))
            {
                removed++;
            }
        }

        return removed;
    }

    public void Dispose() => _cleanup.Dispose();

    private bool RemoveIfSame(BlockEntry entry, string by, DateTimeOffset now)
    {
        lock (_writeGate)
        {
            if (!_entries.TryRemove(KeyValuePair.Create(entry.Address, entry)))
            {
                return false;
            }

            Interlocked.Decrement(ref _count);
        }

        Raise(new BlockChange(BlockChangeKind.Unblocked, entry, by, by == "expired" ? entry.ExpiresAt : now));
        return true;
    }

    /// <summary>Called under the write gate when full: removes one expired entry, or else the one expiring soonest.</summary>
    private BlockChange? EvictSoonestExpiring(DateTimeOffset now)
    {
        BlockEntry? victim = null;
        foreach (var entry in _entries.Values)
        {
            if (victim is null || entry.ExpiresAt < victim.ExpiresAt)
            {
                victim = entry;
            }
        }

        if (victim is null || !_entries.TryRemove(KeyValuePair.Create(victim.Address, victim)))
        {
            return null;
        }

        Interlocked.Decrement(ref _count);
        var expired = victim.ExpiresAt <= now;
        return new BlockChange(BlockChangeKind.Unblocked, victim, expired ? "expired" : "evicted", expired ? victim.ExpiresAt : now);
    }

    private void Raise(BlockChange change)
    {
        if (change.Kind == BlockChangeKind.Blocked)
        {
            Log.Blocked(_logger, change.Entry.Address, change.Entry.ExpiresAt, change.By, change.Entry.Evidence);
        }
        else
        {
            Log.Unblocked(_logger, change.Entry.Address, change.By);
        }

        Changed?.Invoke(this, change);
    }
}
