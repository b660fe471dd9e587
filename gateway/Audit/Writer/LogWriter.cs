using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// The writer thread. It takes entries off the queue into its <see cref="EntryBatch"/> and
/// group-commits the batch with one write and one fsync, at the latest a flush interval after its
/// first entry (at once when a durable append waits, or when the batch is full); then waiters,
/// subscribers and metrics learn of it. A checkpoint of the durable tree follows every checkpoint
/// interval. It sleeps (<see cref="WriterSignal"/>) until woken or until a batch or checkpoint is due.
/// </summary>
internal sealed partial class LogWriter : IDisposable
{
    private const int MaxBatchBytes = 4 << 20;

    private readonly AuditOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly EntryQueue<PendingEntry> _queue;
    private readonly WriterSignal _signal;
    private readonly AuditMetrics _metrics;
    private readonly LiveFeed _feed;
    private readonly CheckpointSigner _checkpoints;
    private readonly MerkleFrontier _tree;
    private readonly EntryBatch _batch;
    private readonly SegmentWriter _segments;
    private readonly List<(TaskCompletionSource<AuditReceipt> Waiter, long Seq)> _waiters = [];
    private readonly long[] _flushedKinds = new long[AuditMetrics.KindCount];
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _batchStarted;
    private long _durableSize;
    private byte[] _durableRoot;

    public LogWriter(
        AuditOptions options,
        ISha256 sha,
        ILogger logger,
        EntryQueue<PendingEntry> queue,
        WriterSignal signal,
        AuditMetrics metrics,
        LiveFeed feed,
        CheckpointSigner checkpoints,
        RecoveredLog recovered)
    {
        _options = options;
        _time = options.TimeProvider;
        _logger = logger;
        _queue = queue;
        _signal = signal;
        _metrics = metrics;
        _feed = feed;
        _checkpoints = checkpoints;
        _tree = recovered.Tree;
        _batch = new EntryBatch(sha, options.NodeId, recovered.LastLineHash, recovered.Size, new LeafHasher(sha, _tree));
        _segments = new SegmentWriter(options, recovered.LastSegment?.FirstSeq ?? 0, recovered.LastSegmentEntries, recovered.LastSegmentBytes);
        _durableSize = recovered.Size;
        _durableRoot = _tree.Root();
    }

    /// <summary>How many entries are durable.</summary>
    public long DurableSize => Volatile.Read(ref _durableSize);

    /// <summary>Completes when <see cref="Run"/> has returned (stopped, or failed).</summary>
    public Task Done => _done.Task;

    /// <summary>Adds a lifecycle entry of this moment to the batch (before the thread runs, and at its stop).</summary>
    public void AppendNow(LifecycleBody body) => Append(_time.GetUtcNow(), body, durable: null);

    /// <summary>The thread's body: writes until the queue is completed and drained, then a stop entry and a final checkpoint.</summary>
    public void Run()
    {
        var queue = _queue;
        try
        {
            while (true)
            {
                // Before draining: an entry queued from here on wakes the writer again.
                _signal.Draining();
                while (_batch.Length < MaxBatchBytes && queue.TryTake(out var pending))
                {
                    Append(pending);
                }

                if (_batch.Length > 0 && (_waiters.Count > 0 || _batch.Length >= MaxBatchBytes || _time.GetElapsedTime(_batchStarted) >= _options.FlushInterval))
                {
                    Flush();
                }

                if (_checkpoints.IsBehind(_durableSize) && _checkpoints.DueIn <= TimeSpan.Zero)
                {
                    WriteCheckpoint();
                }

                if (queue.IsDrained)
                {
                    break;
                }

                // Entries left means the batch filled up and was flushed: take the rest at once.
                if (queue.Count == 0)
                {
                    Sleep();
                }
            }

            AppendNow(new LifecycleBody { Event = LifecycleEvent.Stop, Version = _options.Version });
            Flush();
            WriteCheckpoint();
            Log.Closed(_logger, _durableSize);
        }
        catch (Exception ex)
        {
            Log.WriterFailed(_logger, ex);
            _queue.Complete(ex);
            foreach (var (waiter, _) in _waiters)
            {
                waiter.TrySetException(ex);
            }

            while (queue.TryTake(out var pending))
            {
                pending.Durable?.TrySetException(ex);
            }
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    /// <summary>Writes the batch and fsyncs once; then the waiters, subscribers and metrics learn of it.</summary>
    public void Flush()
    {
        var started = _time.GetTimestamp();
        WriteAndSync();
        if (_durableSize != _batch.NextSeq)
        {
            _durableRoot = _tree.Root();
            Volatile.Write(ref _durableSize, _batch.NextSeq);
        }

        _metrics.Flushed(_time.GetElapsedTime(started), _flushedKinds);
        Array.Clear(_flushedKinds);
        foreach (var (waiter, seq) in _waiters)
        {
            waiter.TrySetResult(new AuditReceipt(seq));
        }

        _waiters.Clear();
    }

    /// <summary>Signs the durable tree (not a checkpoint over an entry that is not yet fsynced).</summary>
    public void WriteCheckpoint() => _checkpoints.Sign(_durableSize, _durableRoot);

    public void Dispose() => _segments.Dispose();

    private void Append(PendingEntry pending)
    {
        try
        {
            Append(pending.Entry.Timestamp, pending.Entry.Body, pending.Durable);
        }
        catch (ArgumentException ex)
        {
            Log.EntryRejected(_logger, pending.Entry.Kind, ex);
            pending.Durable?.TrySetException(ex);
        }
    }

    private void Append(DateTimeOffset timestamp, AuditBody body, TaskCompletionSource<AuditReceipt>? durable)
    {
        if (_segments.IsFull(_batch.Count, _batch.Length))
        {
            Roll();
        }

        var first = _batch.Length == 0;
        var seq = _batch.Append(timestamp, body);
        if (first)
        {
            _batchStarted = _time.GetTimestamp();
        }

        _flushedKinds[(int)body.Kind]++;
        if (durable is not null)
        {
            _waiters.Add((durable, seq));
        }
    }

    /// <summary>Sleeps until woken, or until the open batch or a checkpoint is due.</summary>
    private void Sleep()
    {
        var due = Timeout.InfiniteTimeSpan;
        if (_batch.Length > 0)
        {
            due = _options.FlushInterval - _time.GetElapsedTime(_batchStarted);
        }

        if (_checkpoints.IsBehind(_durableSize))
        {
            var checkpointDue = _checkpoints.DueIn;
            due = due == Timeout.InfiniteTimeSpan || checkpointDue < due ? checkpointDue : due;
        }

        if (due != Timeout.InfiniteTimeSpan && due <= TimeSpan.Zero)
        {
            return;
        }

        _signal.Sleep(due, idle: _batch.Length == 0);
    }

    /// <summary>Appends the batch to the segment and fsyncs it, then shows it to subscribers.</summary>
    private void WriteAndSync()
    {
        _batch.Seal();
        _segments.Write(_batch.Lines, _batch.Count);
        _segments.Sync();
        _feed.Publish(_batch.FirstSeq, _batch.Lines, _batch.Kinds);
        _batch.Clear();
    }

    /// <summary>Completes the segment with what the batch holds and starts the next at the next seq.</summary>
    private void Roll()
    {
        WriteAndSync();
        _segments.Roll(_batch.NextSeq);
    }
}
