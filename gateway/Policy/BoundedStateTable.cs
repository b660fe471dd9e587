using System.Collections.Concurrent;

namespace AuditGateway.Policy;

/// <summary>Per-key mutable state kept by a <see cref="BoundedStateTable{TKey, TState}"/>; it is its own lock.</summary>
internal abstract class TrackedState
{
    /// <summary>Timestamp (<see cref="TimeProvider.GetTimestamp"/>) of the last update, for least-recently-used trimming.</summary>
    public long LastUsed { get; set; }

    /// <summary>Set under the state's lock when the table drops it; an updater that sees it retries with a fresh state.</summary>
    public bool Removed { get; set; }
}

/// <summary>
/// A concurrent map of per-key state with bounded memory: idle states are dropped by
/// <see cref="Sweep"/>, and when more than <c>capacity</c> states exist, the least recently
/// used are dropped down to 90 % of it. Updates lock only their own state.
/// </summary>
internal sealed class BoundedStateTable<TKey, TState>
    where TKey : notnull
    where TState : TrackedState
{
    private readonly ConcurrentDictionary<TKey, TState> _states = new();
    private readonly int _capacity;
    private readonly Func<TKey, long, TState> _create;
    private readonly Func<TState, long, bool> _isIdle;
    private int _count;
    private int _trimming;

    /// <param name="capacity">The most states kept.</param>
    /// <param name="create">Makes the state of a new key at a timestamp.</param>
    /// <param name="isIdle">Whether a state may be dropped at a timestamp without changing behaviour; called under its lock.</param>
    public BoundedStateTable(int capacity, Func<TKey, long, TState> create, Func<TState, long, bool> isIdle)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _create = create;
        _isIdle = isIdle;
    }

    /// <summary>Raised with the number of states dropped when the table had to trim active states.</summary>
    public event Action<int>? Trimmed;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Runs <paramref name="update"/> on the key's state under its lock, creating the state if needed.</summary>
    public TResult Update<TArg, TResult>(TKey key, long now, TArg arg, Func<TState, TArg, TResult> update)
    {
        while (true)
        {
            if (!_states.TryGetValue(key, out var state))
            {
                var fresh = _create(key, now);
                fresh.LastUsed = now;
                if (!_states.TryAdd(key, fresh))
                {
                    continue;
                }

                state = fresh;
                if (Interlocked.Increment(ref _count) > _capacity)
                {
                    Trim(fresh);
                }
            }

            lock (state)
            {
                if (state.Removed)
                {
                    continue;
                }

                state.LastUsed = now;
                return update(state, arg);
            }
        }
    }

    /// <summary>Runs <paramref name="read"/> on the key's state under its lock, if it has one.</summary>
    public bool TryRead<TArg, TResult>(TKey key, TArg arg, Func<TState, TArg, TResult> read, out TResult? result)
    {
        if (_states.TryGetValue(key, out var state))
        {
            lock (state)
            {
                if (!state.Removed)
                {
                    result = read(state, arg);
                    return true;
                }
            }
        }

        result = default;
        return false;
    }

    public bool Remove(TKey key)
    {
        if (_states.TryGetValue(key, out var state))
        {
            lock (state)
            {
                if (state.Removed)
                {
                    return false;
                }

                state.Removed = true;
            }

            Drop(key, state);
            return true;
        }

        return false;
    }

    /// <summary>Drops every idle state; returns how many.</summary>
    public int Sweep(long now)
    {
        var dropped = 0;
        foreach (var (key, state) in _states)
        {
            lock (state)
            {
                if (state.Removed || !_isIdle(state, now))
                {
                    continue;
                }

                state.Removed = true;
            }

            Drop(key, state);
            dropped++;
        }

        return dropped;
    }

    /// <summary>
    /// Drops the least recently used states down to 90 % of capacity, sparing <paramref name="keep"/>
    /// (the state just added). One thread trims; others carry on.
    /// </summary>
    private void Trim(TState keep)
    {
        if (Interlocked.CompareExchange(ref _trimming, 1, 0) != 0)
        {
            return;
        }

        try
        {
            var snapshot = _states.ToArray();
            var excess = snapshot.Length - (_capacity - (_capacity / 10));
            if (excess <= 0)
            {
                return;
            }

            var byAge = new long[snapshot.Length];
            for (var i = 0; i < snapshot.Length; i++)
            {
                byAge[i] = snapshot[i].Value.LastUsed;
            }

            Array.Sort(byAge, snapshot);
            var dropped = 0;
            for (var i = 0; i < snapshot.Length && dropped < excess; i++)
            {
                var (key, state) = snapshot[i];
                if (ReferenceEquals(state, keep))
                {
                    continue;
                }

                lock (state)
                {
                    if (state.Removed)
                    {
                        continue;
                    }

                    state.Removed = true;
                }

                Drop(key, state);
                dropped++;
            }

            Trimmed?.Invoke(dropped);
        }
        finally
        {
            Volatile.Write(ref _trimming, 0);
        }
    }

    private void Drop(TKey key, TState state)
    {
        if (_states.TryRemove(KeyValuePair.Create(key, state)))
        {
            Interlocked.Decrement(ref _count);
        }
    }
}
