namespace AuditGateway.Audit.Writer;

/// <summary>
/// How producers wake the writer thread, and how it sleeps. The writer is not woken for every
/// entry: under load that costs more than the entry itself (a thread switch, a timer). Producers
/// wake it for the first entry while it is idle, for every <see cref="WakeEvery"/>th entry after
/// that, and for a durable append; otherwise it sleeps until its batch or a checkpoint is due.
/// </summary>
internal sealed class WriterSignal : IAsyncDisposable
{
    private const int WakeEvery = 64;

    private readonly EntryQueue<PendingEntry> _queue;
    // No spinning before it blocks: on a busy machine the writer's spin took CPU from requests.
    private readonly ManualResetEventSlim _wake = new(initialState: false, spinCount: 0);
    private readonly ITimer _due;
    private int _wakePending;
    private int _unseen;
    private int _idle;

    public WriterSignal(EntryQueue<PendingEntry> queue, TimeProvider time)
    {
        _queue = queue;
        _due = time.CreateTimer(static state => ((WriterSignal)state!).Wake(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>An entry is on the queue: wake the writer if it is idle, for every <see cref="WakeEvery"/>th entry, or when a caller waits.</summary>
    public void Queued(bool urgent)
    {
        if (urgent || Volatile.Read(ref _idle) == 1 || Interlocked.Increment(ref _unseen) == WakeEvery)
        {
            Wake();
        }
    }

    public void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            _wake.Set();
        }
    }

    /// <summary>The writer is about to drain the queue: an entry queued from here on wakes it again.</summary>
    public void Draining()
    {
        Volatile.Write(ref _wakePending, 0);
        Volatile.Write(ref _unseen, 0);
    }

    /// <summary>
    /// Sleeps until woken, or until <paramref name="due"/> has passed (infinite: until woken).
    /// <paramref name="idle"/>: the writer has no open batch, so the next entry must wake it to start
    /// one (its flush clock starts then).
    /// </summary>
    public void Sleep(TimeSpan due, bool idle)
    {
        // Look at the queue again after saying so, or an entry queued in between would wait.
        if (idle)
        {
            Volatile.Write(ref _idle, 1);
            if (_queue.Count > 0 || _queue.IsDrained)
            {
                Volatile.Write(ref _idle, 0);
                return;
            }
        }

        if (due != Timeout.InfiniteTimeSpan)
        {
            _due.Change(due, Timeout.InfiniteTimeSpan);
        }

        // Reset while _wakePending is still 1: no Wake can Set it until Draining clears that flag.
        _wake.Wait();
        _wake.Reset();
        if (idle)
        {
            Volatile.Write(ref _idle, 0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _due.DisposeAsync();
        _wake.Dispose();
    }
}
