using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// The writer thread. It takes entries off the queue into its <see cref="EntryBatch"/> and
/// group-commits the batch with one write and one fsync, at the latest a flush interval after its
/// first entry (at once when a durable append waits, or when the batch is full); then waiters,
/// subscribers and metrics learn of it. A checkpoint of the durable tree follows every checkpoint
/// interval. It sleeps (<see cref="WriterSignal"/>) until woken or until a batch or checkpoint is due.
/// <para>
/// When the disk refuses (no space for the reserve ahead of the segment, a failed write, fsync,
/// new segment or checkpoint) an outage begins: <see cref="LogAvailability"/> says so, so the
/// gateway stops forwarding, and one line is logged. A batch that could not be written stays in
/// memory and is written again; entries still on their way wait in the queue (with
/// <c>audit.onWriteFailure: serve</c>, request entries are dropped and counted instead, so the queue
/// cannot stall the requests being served). Every <see cref="AuditOptions.RetryInterval"/> the
/// failed steps are tried again; when all succeed a <c>resumed</c> lifecycle entry records the
/// outage and the chain goes on.
/// </para>
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
    private readonly LogAvailability _availability;
    private readonly LiveFeed _feed;
    private readonly CheckpointSigner _checkpoints;
    private readonly MerkleFrontier _tree;
    private readonly TreeWriter _storedTree;
    private long _nextOffsetLine;
    private DurableEntriesObserver? _observer;
    private readonly EntryBatch _batch;
    private readonly SegmentWriter _segments;
    private readonly List<(TaskCompletionSource<AuditReceipt> Waiter, long Seq)> _waiters = [];
    private readonly long[] _flushedKinds = new long[AuditMetrics.KindCount];
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _batchStarted;
    private long _durableSize;
    private byte[] _durableRoot;
    private readonly Action<long> _closed;
    private Outage? _outage;

    public LogWriter(
        AuditOptions options,
        ISha256 sha,
        ILogger logger,
        EntryQueue<PendingEntry> queue,
        WriterSignal signal,
        AuditMetrics metrics,
        LogAvailability availability,
        LiveFeed feed,
        CheckpointSigner checkpoints,
        RecoveredLog recovered,
        Action<long> closed)
    {
        _closed = closed;
        _options = options;
        _time = options.TimeProvider;
        _logger = logger;
        _queue = queue;
        _signal = signal;
        _metrics = metrics;
        _availability = availability;
        _feed = feed;
        _checkpoints = checkpoints;
        _tree = recovered.Tree;
        _batch = new EntryBatch(sha, options.NodeId, recovered.LastLineHash, recovered.Size, new LeafHasher(sha, _tree));
        _segments = new SegmentWriter(options, recovered.LastSegment?.FirstSeq ?? 0, recovered.LastSegmentEntries, recovered.LastSegmentBytes);
        _storedTree = new TreeWriter(StoredTree.DirectoryOf(options.DataDirectory), _segments.FirstSeq, recovered.Size, logger, create: false);
        _tree.OnNode = _storedTree.OnNode;
        var intoSegment = recovered.Size - _segments.FirstSeq;
        _nextOffsetLine = _segments.FirstSeq + ((intoSegment + SegmentLines.LinesPerFrame - 1) / SegmentLines.LinesPerFrame * SegmentLines.LinesPerFrame);
        _durableSize = recovered.Size;
        _durableRoot = _tree.Root();
    }

    /// <summary>How many entries are durable.</summary>
    public long DurableSize => Volatile.Read(ref _durableSize);

    /// <summary>Completes when <see cref="Run"/> has returned (stopped, or failed).</summary>
    public Task Done => _done.Task;

    /// <summary>Adds a lifecycle entry of this moment to the batch (before the thread runs, and at its stop).</summary>
    public void AppendNow(LifecycleBody body) => Append(_time.GetUtcNow(), body, durable: null);

    /// <summary>
    /// Before the thread runs: the open segment gets its reserve. A disk already too full for it
    /// starts the log in an outage (serving nothing) rather than failing the start.
    /// </summary>
    public void Reserve()
    {
        if (_segments.EnsureReserve() is { } problem)
        {
            Fail(Problem.Reserve, $"cannot reserve log space in {SegmentName}: {problem}");
        }
    }

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
                if (_outage is { } outage && DueForRetry(outage))
                {
                    TryResume(outage);
                }

                if (_outage is { Stalled: true })
                {
                    if (queue.IsCompleted)
                    {
                        break;
                    }

                    KeepWhileStalled();
                    Sleep();
                    continue;
                }

                WriteSome();
                if (queue.IsDrained)
                {
                    break;
                }

                // Entries left means the batch filled up and was flushed: take the rest at once.
                if (queue.Count == 0 || _outage is { Stalled: true })
                {
                    Sleep();
                }
            }

            Stop();
        }
        catch (Exception ex)
        {
            Log.WriterFailed(_logger, ex);
            _availability.Closed($"the audit log writer failed: {ex.Message}");
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
        _storedTree.Flush();
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

    /// <summary>Adds an observer of durable entries (<see cref="IDurableEntries"/>).</summary>
    public void Observe(DurableEntriesObserver observer)
    {
        DurableEntriesObserver? current, next;
        do
        {
            current = Volatile.Read(ref _observer);
            next = current + observer;
        }
        while (Interlocked.CompareExchange(ref _observer, next, current) != current);
    }

    /// <summary>Tells the stored tree where every 1,024th line of the segment starts, for the batch just written at <paramref name="at"/>.</summary>
    private void RecordLineOffsets(long at)
    {
        var lines = _batch.Lines;
        var seq = _batch.FirstSeq;
        var position = 0;
        for (; _nextOffsetLine < _batch.NextSeq; _nextOffsetLine += SegmentLines.LinesPerFrame)
        {
            for (; seq < _nextOffsetLine; seq++)
            {
                position += lines[position..].IndexOf((byte)'\n') + 1;
            }

            _storedTree.LineAt(at + position);
        }
    }

    /// <summary>Signs the durable tree (not a checkpoint over an entry that is not yet fsynced).</summary>
    public void WriteCheckpoint()
    {
        _options.Faults?.Before(WriteStep.Checkpoint);
        _checkpoints.Sign(_durableSize, _durableRoot);
    }

    public void Dispose()
    {
        _segments.Dispose();
        _storedTree.Dispose();
    }

    private string SegmentName => _segments.Name;

    /// <summary>One round of normal work: take entries into the batch, flush it when due, sign when due.</summary>
    private void WriteSome()
    {
        var step = Problem.Write;
        try
        {
            while (_batch.Length < MaxBatchBytes)
            {
                if (_segments.IsFull(_batch.Count, _batch.Length))
                {
                    step = Problem.Roll;
                    Roll();
                    step = Problem.Write;
                }

                if (!_queue.TryTake(out var pending))
                {
                    break;
                }

                Append(pending);
            }

            if (_batch.Length > 0 && (_waiters.Count > 0 || _batch.Length >= MaxBatchBytes || _time.GetElapsedTime(_batchStarted) >= _options.FlushInterval))
            {
                Flush();
                CheckReserve();
            }

            if (_checkpoints.IsBehind(_durableSize) && _checkpoints.DueIn <= TimeSpan.Zero)
            {
                step = Problem.Checkpoint;
                WriteCheckpoint();
                Cleared(Problem.Checkpoint);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Fail(step, Describe(step, ex));
        }
    }

    /// <summary>
    /// While stalled: a batch waits to be written again. With <c>onWriteFailure: reject</c> entries
    /// stay on the queue (only requests already forwarded add to it). With <c>serve</c> requests go on,
    /// so request entries are taken and dropped (counted unaudited) and the others kept in the batch,
    /// up to its limit; beyond it they are lost (counted) and a durable append fails, to be retried.
    /// </summary>
    private void KeepWhileStalled()
    {
        if (_options.OnWriteFailure != WriteFailureMode.Serve)
        {
            return;
        }

        long dropped = 0;
        while (_queue.TryTake(out var pending))
        {
            if (pending.Entry.Kind == AuditKind.Request && pending.Durable is null)
            {
                dropped++;
            }
            else if (_batch.Length < MaxBatchBytes)
            {
                Append(pending);
            }
            else
            {
                _availability.Lost(1);
                pending.Durable?.TrySetException(new IOException($"the audit log cannot be written: {_outage?.Reason}"));
            }
        }

        if (dropped > 0)
        {
            _availability.Unaudited(dropped);
        }
    }

    /// <summary>Tries every failed step again, in order; the outage ends when all succeed.</summary>
    private void TryResume(Outage outage)
    {
        outage.LastAttempt = _time.GetTimestamp();
        var step = Problem.Write;
        try
        {
            if (outage.Has(Problem.Write) || outage.Has(Problem.Roll))
            {
                // The batch that failed, whole, from the durable end; then the segment it filled.
                Flush();
                step = Problem.Roll;
                if (_segments.IsFull(_batch.Count, _batch.Length))
                {
                    Roll();
                }

                outage.Clear(Problem.Write);
                outage.Clear(Problem.Roll);
            }

            step = Problem.Checkpoint;
            if (outage.Has(Problem.Checkpoint))
            {
                WriteCheckpoint();
                outage.Clear(Problem.Checkpoint);
            }

            CheckReserve();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            outage.Set(step);
            return;
        }

        // CheckReserve ends the outage itself when the reserve was the last problem.
        if (_outage == outage && outage.Problems == 0)
        {
            EndOutage(outage);
        }
    }

    /// <summary>After a write: the reserve is topped up, or the outage for it begins (writing goes on into what is left).</summary>
    private void CheckReserve()
    {
        if (_segments.EnsureReserve() is { } problem)
        {
            Fail(Problem.Reserve, $"cannot reserve log space in {SegmentName}: {problem}");
        }
        else
        {
            Cleared(Problem.Reserve);
        }
    }

    private void Cleared(Problem problem)
    {
        if (_outage is { } outage && outage.Has(problem))
        {
            outage.Clear(problem);
            if (outage.Problems == 0)
            {
                EndOutage(outage);
            }
        }
    }

    /// <summary>Starts an outage (one log line) or adds a failed step to the one under way.</summary>
    private void Fail(Problem step, string reason)
    {
        if (_outage is null)
        {
            var since = _time.GetUtcNow();
            _outage = new Outage(since, reason) { LastAttempt = _time.GetTimestamp() };
            _availability.BeginOutage(reason, since);
            Log.Unwritable(_logger, reason, _options.OnWriteFailure == WriteFailureMode.Serve ? "forwarded unaudited (audit.onWriteFailure: serve)" : "refused with 503");
        }

        _outage.Set(step);
    }

    /// <summary>The log is writable again: the outage goes into the log, and requests are forwarded again.</summary>
    private void EndOutage(Outage outage)
    {
        _outage = null;
        var until = _time.GetUtcNow();

        // Open first, then count: a request the gate refused just before is still counted (all but
        // one that read "unwritable" and counts itself in the nanoseconds between the two).
        _availability.Opened();
        var (refused, unaudited, lost) = _availability.OutageCounts();
        AppendNow(new LifecycleBody
        {
            Event = LifecycleEvent.Resumed,
            Version = _options.Version,
            Outage = new LogOutage { Since = outage.Since, Until = until, Reason = outage.Reason, RefusedRequests = refused, UnauditedRequests = unaudited, LostEntries = lost },
        });
        if (unaudited > 0)
        {
            Append(until, new SecurityBody
            {
                Action = SecurityAction.Unaudited,
                Subject = "requests",
                By = "audit.onWriteFailure: serve",
                Reason = $"{unaudited} requests were forwarded without an audit entry while the log could not be written ({outage.Reason})",
                Evidence = new Dictionary<string, string>
                {
                    ["requests"] = unaudited.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["since"] = outage.Since.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                    ["until"] = until.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                },
            }, durable: null);
        }

        Log.Writable(_logger, (until - outage.Since).TotalSeconds, refused, unaudited, lost);
    }

    /// <summary>At stop: what is queued, a stop entry, a final checkpoint. During an outage, one last try; what cannot be written is counted and logged.</summary>
    private void Stop()
    {
        if (_outage is { } outage)
        {
            TryResume(outage);
        }

        if (_outage is null)
        {
            while (_queue.TryTake(out var pending))
            {
                Append(pending);
            }

            AppendNow(new LifecycleBody { Event = LifecycleEvent.Stop, Version = _options.Version });
            try
            {
                Flush();
                WriteCheckpoint();
                _availability.Closed("the audit log is closed");
                Log.Closed(_logger, _durableSize);
                return;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Fail(Problem.Write, Describe(Problem.Write, ex));
            }
        }

        var lost = (long)_batch.Count;
        var error = new IOException($"the audit log cannot be written: {_outage!.Reason}");
        foreach (var (waiter, _) in _waiters)
        {
            waiter.TrySetException(error);
        }

        while (_queue.TryTake(out var pending))
        {
            lost++;
            pending.Durable?.TrySetException(error);
        }

        _availability.Lost(lost);
        _availability.Closed("the audit log is closed");
        Log.ClosedUnwritable(_logger, lost, _outage.Reason, _durableSize);
    }

    private bool DueForRetry(Outage outage) => _time.GetElapsedTime(outage.LastAttempt) >= _options.RetryInterval || _queue.IsCompleted;

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

    /// <summary>Sleeps until woken, or until the open batch, a checkpoint or a retry is due.</summary>
    private void Sleep()
    {
        var due = Timeout.InfiniteTimeSpan;
        if (_outage is { } outage)
        {
            due = _options.RetryInterval - _time.GetElapsedTime(outage.LastAttempt);
        }

        if (_outage is not { Stalled: true })
        {
            if (_batch.Length > 0)
            {
                due = Earlier(due, _options.FlushInterval - _time.GetElapsedTime(_batchStarted));
            }

            if (_checkpoints.IsBehind(_durableSize))
            {
                due = Earlier(due, _checkpoints.DueIn);
            }

            if (_segments.AgeDueIn is { } sealDue)
            {
                due = Earlier(due, sealDue);
            }
        }

        if (due != Timeout.InfiniteTimeSpan && due <= TimeSpan.Zero)
        {
            return;
        }

        _signal.Sleep(due, idle: _batch.Length == 0 && _outage is null);
    }

    private static TimeSpan Earlier(TimeSpan a, TimeSpan b) => a == Timeout.InfiniteTimeSpan || b < a ? b : a;

    /// <summary>Writes the batch to the segment and fsyncs it (all of it again after a failure), then shows it to subscribers.</summary>
    private void WriteAndSync()
    {
        _batch.Seal();
        var at = _segments.Bytes;
        _segments.WriteDurably(_batch.Lines, _batch.Count);
        if (_batch.Count > 0)
        {
            RecordLineOffsets(at);
        }

        _feed.Publish(_batch.FirstSeq, _batch.Lines, _batch.Kinds);
        if (_batch.Count > 0 && Volatile.Read(ref _observer) is { } observer)
        {
            try
            {
                observer(_batch.FirstSeq, _batch.Timestamps, _batch.Bodies);
            }
#pragma warning disable CA1031 // An observer's failure must never fail a write that is already durable.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Log.ObserverFailed(_logger, e.Message);
            }
        }

        _batch.Clear();
    }

    /// <summary>Completes the segment with what the batch holds and starts the next at the next seq.</summary>
    private void Roll()
    {
        Flush();
        var closed = _segments.FirstSeq;
        _segments.Roll(_batch.NextSeq);
        _storedTree.Roll(_batch.NextSeq);
        _nextOffsetLine = _batch.NextSeq;
        _closed(closed);
        CheckReserve();
    }

    private string Describe(Problem step, Exception ex) => step switch
    {
        Problem.Roll => $"cannot create the next log segment: {ex.Message}",
        Problem.Checkpoint => $"cannot store a checkpoint: {ex.Message}",
        _ => $"cannot write {SegmentName}: {ex.Message}",
    };

    /// <summary>A step that failed and must succeed again before the outage ends.</summary>
    [Flags]
    private enum Problem
    {
        Reserve = 1,
        Write = 2,
        Roll = 4,
        Checkpoint = 8,
    }

    /// <summary>The outage under way: since when, what failed first, which steps still fail.</summary>
    private sealed class Outage(DateTimeOffset since, string reason)
    {
        public DateTimeOffset Since { get; } = since;

        public string Reason { get; } = reason;

        public Problem Problems { get; private set; }

        /// <summary>A batch, a new segment or a checkpoint is waiting: nothing more is written until it is.</summary>
        public bool Stalled => (Problems & (Problem.Write | Problem.Roll)) != 0;

        public long LastAttempt { get; set; }

        public bool Has(Problem problem) => (Problems & problem) != 0;

        public void Set(Problem problem) => Problems |= problem;

        public void Clear(Problem problem) => Problems &= ~problem;
    }
}
