using System.Collections.Concurrent;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// The writer's queue: many producers, one consumer, bounded. Adding and taking do not lock (a
/// <see cref="ConcurrentQueue{T}"/> and a counter): every request adds one entry, and a channel's
/// lock on both sides cost more than the rest of the hand-off. Producers that find it full wait
/// for room (back-pressure); nothing is dropped.
/// </summary>
internal sealed class EntryQueue<T>(int capacity)
{
    private readonly ConcurrentQueue<T> _items = new();
    private readonly Lock _roomLock = new();
    private TaskCompletionSource? _room;
    private int _count;
    private int _completed;
    private Exception? _error;

    /// <summary>Entries added and not yet taken (an entry being added may already be counted).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>No more entries will be added (some may still wait to be taken).</summary>
    public bool IsCompleted => Volatile.Read(ref _completed) == 1;

    /// <summary>Completed, and every entry taken: the consumer is done.</summary>
    public bool IsDrained => Volatile.Read(ref _completed) == 1 && Count == 0;

    /// <summary>Adds an entry unless the queue is full. Throws once the queue is completed.</summary>
    public bool TryAdd(T item)
    {
        // Counted before the completion check: a consumer that sees the count at zero after
        // completing cannot miss an entry added concurrently (the adder sees the completion).
        if (Interlocked.Increment(ref _count) > capacity)
        {
            Interlocked.Decrement(ref _count);
            ThrowIfCompleted();
            return false;
        }

        if (Volatile.Read(ref _completed) == 1)
        {
            Interlocked.Decrement(ref _count);
            ThrowIfCompleted();
        }

        _items.Enqueue(item);
        return true;
    }

    /// <summary>Adds an entry, waiting for room while the queue is full.</summary>
    public async ValueTask AddAsync(T item, CancellationToken cancellationToken)
    {
        while (!TryAdd(item))
        {
            Task room;
            lock (_roomLock)
            {
                room = (_room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }

            // The consumer frees room and then looks for a waiter; look at the room after saying
            // so, or room freed in between would be missed.
            Interlocked.MemoryBarrier();
            if (Count < capacity || Volatile.Read(ref _completed) == 1)
            {
                ReleaseWaiters();
            }

            await room.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Takes the oldest entry (the one consumer only).</summary>
    public bool TryTake(out T item)
    {
        if (!_items.TryDequeue(out item!))
        {
            return false;
        }

        Interlocked.Decrement(ref _count);
        if (Volatile.Read(ref _room) is not null)
        {
            ReleaseWaiters();
        }

        return true;
    }

    /// <summary>No more entries: adding throws from now on (with <paramref name="error"/> as the cause, if any).</summary>
    public void Complete(Exception? error = null)
    {
        Interlocked.CompareExchange(ref _error, error, null);
        Volatile.Write(ref _completed, 1);
        ReleaseWaiters();
    }

    private void ReleaseWaiters()
    {
        TaskCompletionSource? room;
        lock (_roomLock)
        {
            room = _room;
            _room = null;
        }

        room?.TrySetResult();
    }

    private void ThrowIfCompleted()
    {
        if (Volatile.Read(ref _completed) == 1)
        {
            throw new InvalidOperationException(_error is null ? "the audit log is closed" : "the audit log writer failed", _error);
        }
    }
}
