using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Notes;
using AuditGateway.Audit.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// The writer. Producers put entries on a bounded queue; one writer thread encodes them,
/// chains them, appends them to the Merkle tree and group-commits each batch with one fsync,
/// at the latest a flush interval after its first entry (at once when a durable append waits).
/// Signed checkpoints of the durable tree follow every checkpoint interval.
/// </summary>
/// <remarks>
/// The writer is not woken for every entry: under load that costs more than the entry itself (a
/// thread switch, a timer). Producers wake it for the first entry while it is idle, for every
/// <see cref="WakeEvery"/>th entry after that, and for a durable append; otherwise it sleeps
/// until its batch or a checkpoint is due.
/// </remarks>
internal sealed partial class AuditLog : IAuditLog, IAsyncDisposable
{
    private const int MaxBatchBytes = 4 << 20;
    private const int LiveCapacity = 4096;
    private const int WakeEvery = 64;

    private readonly AuditOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly EntryQueue<Pending> _queue;
    private readonly AuditMetrics _metrics;
    private readonly NoteSigner _signer;
    private readonly EntryEncoder _encoder = new(cacheSharedParts: true);
    private readonly MerkleFrontier _tree;
    private readonly byte[] _prev;
    private readonly byte[] _leaf = new byte[MerkleHash.Size];
    private readonly (int Start, int Length)[] _unhashed = new (int, int)[Sha256x16.Lanes];
    private readonly byte[] _laneHashes = new byte[Sha256x16.Lanes * MerkleHash.Size];
    private readonly long[] _batchKinds = new long[AuditMetrics.KindCount];
    private readonly List<(TaskCompletionSource<AuditReceipt> Waiter, long Seq)> _waiters = [];
    private readonly List<AuditKind> _batchEntryKinds = [];
    private readonly Lock _subscribersLock = new();
    // No spinning before it blocks: on a busy machine the writer's spin took CPU from requests.
    private readonly ManualResetEventSlim _wake = new(initialState: false, spinCount: 0);
    private readonly ITimer _due;
    private readonly TaskCompletionSource _writerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _wakePending;
    private int _unseen;
    private int _idle;
    private ChannelWriter<LiveEntry>[] _subscribers = [];
    private byte[] _batch = new byte[1 << 16];
    private int _batchLength;
    private int _unhashedCount;
    private long _batchFirstSeq;
    private long _batchStarted;
    private FileStream _segment;
    private long _segmentEntries;
    private long _segmentBytes;
    private long _segmentDroppedTo;
    private long _nextSeq;
    private long _durableSize;
    private byte[] _durableRoot;
    private long _lastCheckpointAt;
    private SignedCheckpoint? _latestCheckpoint;
    private Thread? _writer;
    private int _disposed;

    private AuditLog(AuditOptions options, ILogger logger, IMeterFactory? meterFactory, NoteSigner signer, RecoveredLog recovered, SignedCheckpoint? latest)
    {
        _options = options;
        _time = options.TimeProvider;
        _logger = logger;
        _signer = signer;
        _queue = new EntryQueue<Pending>(options.QueueCapacity);
        _metrics = new AuditMetrics(meterFactory, () => _queue.Count);
        _tree = recovered.Tree;
        _prev = recovered.LastLineHash;
        _nextSeq = _durableSize = recovered.Size;
        _durableRoot = _tree.Root();
        _latestCheckpoint = latest;
        _lastCheckpointAt = _time.GetTimestamp();
        var segment = recovered.LastSegment;
        _segmentEntries = recovered.LastSegmentEntries;
        _segmentBytes = recovered.LastSegmentBytes;
        _segment = OpenSegment(segment?.FirstSeq ?? 0);
        _due = _time.CreateTimer(static state => ((AuditLog)state!).Wake(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public SignedCheckpoint? LatestCheckpoint => Volatile.Read(ref _latestCheckpoint);

    public long DurableSize => Volatile.Read(ref _durableSize);

    public bool IsWritable => Volatile.Read(ref _disposed) == 0 && _writer is not null && !_writerDone.Task.IsCompleted;

    /// <summary>
    /// Opens (or creates) the log: loads or generates the signing key, recovers a torn tail,
    /// checks the tree against the last checkpoint, records recovery and start, and starts the writer.
    /// </summary>
    public static async Task<AuditLog> OpenAsync(AuditOptions options, ILogger? logger = null, IMeterFactory? meterFactory = null, CancellationToken cancellationToken = default)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }

        logger ??= NullLogger.Instance;
        var (log, recovered) = await Task.Run(() => Open(options, logger, meterFactory), cancellationToken);
        try
        {
            var version = options.Version;
            if (recovered.Unclean)
            {
                var lastSegment = recovered.LastSegment is { } s ? Path.GetFileName(s.Path) : null;
                Log.Recovered(logger, recovered.TruncatedBytes, recovered.TruncatedLines, lastSegment ?? "-", recovered.Size);
                log.AppendNow(new LifecycleBody
                {
                    Event = LifecycleEvent.Recovery,
                    Version = version,
                    TruncatedBytes = recovered.TruncatedBytes,
                    TruncatedLines = recovered.TruncatedLines,
                    Segment = lastSegment,
                });
            }

            log.AppendNow(new LifecycleBody { Event = LifecycleEvent.Start, Version = version });
            log.Flush();
            log.WriteCheckpoint();
            Log.Opened(logger, options.DataDirectory, log._durableSize);
            log._writer = new Thread(log.Run) { IsBackground = true, Name = "audit log writer" };
            log._writer.Start();
            return log;
        }
        catch
        {
            await log.DisposeResourcesAsync();
            throw;
        }
    }

    private static (AuditLog Log, RecoveredLog Recovered) Open(AuditOptions options, ILogger logger, IMeterFactory? meterFactory)
    {
        var data = options.DataDirectory;
        Directory.CreateDirectory(LogLayout.LogDirectory(data));
        Directory.CreateDirectory(LogLayout.CheckpointDirectory(data));
        var signer = new NoteSigner(options.Origin, LoadOrCreateKey(options, logger));
        try
        {
            // The newest of latest and the numbered files: a replaced or lost latest must not hide a newer checkpoint.
            var latestPath = LogLayout.LatestCheckpoint(data);
            var latest = File.Exists(latestPath) ? ReadCheckpoint(latestPath) : null;
            if (LogLayout.Checkpoints(data) is [.., var newest] && newest.FirstSeq > (latest?.Checkpoint.Size ?? 0))
            {
                latest = ReadCheckpoint(newest.Path);
            }

            var recovered = LogRecovery.Recover(data, latest?.Checkpoint.Size ?? -1);
            if (latest is { Checkpoint: var cp })
            {
                if (cp.Size > recovered.Size)
                {
                    // Signed entries were durable: a crash cannot have torn them, so an unreadable tail reaching back into them is not cut.
                    throw new InvalidDataException(recovered.TruncatedBytes > 0
                        ? $"{recovered.LastSegment?.Path}: the lines from byte {recovered.LastSegmentBytes} on are unreadable, but the last checkpoint covers "
                            + $"{cp.Size} entries and only {recovered.Size} read before them; not cutting signed entries: the log is damaged "
                            + "or was written by another version of auditgw, run 'auditgw verify'"
                        : $"the log has {recovered.Size} entries but the last checkpoint covers {cp.Size}: entries were lost or removed; refusing to sign");
                }

                if (cp.Size > 0 && !CryptographicOperations.FixedTimeEquals(cp.Root, recovered.RootAtCheckpoint))
                {
                    throw new InvalidDataException(
                        $"the log's first {cp.Size} entries do not match the last checkpoint's root; refusing to sign an inconsistent tree");
                }
            }

            LogRecovery.CutTornTail(recovered);
            return (new AuditLog(options, logger, meterFactory, signer, recovered, latest), recovered);
        }
        catch
        {
            signer.Dispose();
            throw;
        }
    }

    private static SignedCheckpoint ReadCheckpoint(string path) =>
        CheckpointStore.TryRead(path, out var error) ?? throw new InvalidDataException($"{path}: {error}; refusing to sign over it");

    private static ECDsa LoadOrCreateKey(AuditOptions options, ILogger logger)
    {
        var path = options.ResolvedSigningKeyPath;
        if (File.Exists(path))
        {
            return SigningKeys.Load(path);
        }

        var key = SigningKeys.Generate();
        SigningKeys.WritePair(key, path);
        Log.GeneratedSigningKey(logger, path);
        return key;
    }

    public ValueTask EnqueueAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var pending = new Pending(entry, null);
        if (!_queue.TryAdd(pending))
        {
            return WaitForRoomAsync(pending, cancellationToken);
        }

        Queued(urgent: false);
        return ValueTask.CompletedTask;
    }

    public async Task<AuditReceipt> AppendDurableAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var waiter = new TaskCompletionSource<AuditReceipt>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = new Pending(entry, waiter);
        if (_queue.TryAdd(pending))
        {
            Queued(urgent: true);
        }
        else
        {
            await WaitForRoomAsync(pending, cancellationToken);
        }

        return await waiter.Task.WaitAsync(cancellationToken);
    }

    public async IAsyncEnumerable<LiveEntry> SubscribeAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<LiveEntry>(new BoundedChannelOptions(LiveCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.DropOldest,
        });
        lock (_subscribersLock)
        {
            _subscribers = [.. _subscribers, channel.Writer];
        }

        try
        {
            await foreach (var entry in channel.Reader.ReadAllAsync(cancellationToken))
            {
                yield return entry;
            }
        }
        finally
        {
            lock (_subscribersLock)
            {
                _subscribers = [.. _subscribers.Where(s => s != channel.Writer)];
            }
        }
    }

    /// <summary>Stops taking entries, writes everything queued, a lifecycle stop entry and a final checkpoint.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _queue.Complete();
        if (_writer is not null)
        {
            Wake();
            await _writerDone.Task;
        }

        await DisposeResourcesAsync();
    }

    private async ValueTask DisposeResourcesAsync()
    {
        lock (_subscribersLock)
        {
            foreach (var subscriber in _subscribers)
            {
                subscriber.TryComplete();
            }
        }

        await _due.DisposeAsync();
        await _segment.DisposeAsync();
        _signer.Dispose();
        _metrics.Dispose();
        _wake.Dispose();
    }

    private async ValueTask WaitForRoomAsync(Pending pending, CancellationToken cancellationToken)
    {
        _metrics.BackpressureHit();
        Wake();
        await _queue.AddAsync(pending, cancellationToken);
        Queued(urgent: pending.Durable is not null);
    }

    /// <summary>An entry is on the queue: wake the writer if it is idle, for every <see cref="WakeEvery"/>th entry, or when a caller waits.</summary>
    private void Queued(bool urgent)
    {
        if (urgent || Volatile.Read(ref _idle) == 1 || Interlocked.Increment(ref _unseen) == WakeEvery)
        {
            Wake();
        }
    }

    private void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            _wake.Set();
        }
    }

    private void Run()
    {
        var queue = _queue;
        try
        {
            while (true)
            {
                // Reset before draining: an entry queued from here on wakes the writer again.
                Volatile.Write(ref _wakePending, 0);
                Volatile.Write(ref _unseen, 0);
                while (_batchLength < MaxBatchBytes && queue.TryTake(out var pending))
                {
                    Append(pending);
                }

                if (_batchLength > 0 && (_waiters.Count > 0 || _batchLength >= MaxBatchBytes || _time.GetElapsedTime(_batchStarted) >= _options.FlushInterval))
                {
                    Flush();
                }

                if (_durableSize > (_latestCheckpoint?.Checkpoint.Size ?? 0) && _time.GetElapsedTime(_lastCheckpointAt) >= _options.CheckpointInterval)
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
            _writerDone.TrySetResult();
        }
    }

    /// <summary>Sleeps until woken, or until the open batch or a checkpoint is due.</summary>
    private void Sleep()
    {
        var due = Timeout.InfiniteTimeSpan;
        if (_batchLength > 0)
        {
            due = _options.FlushInterval - _time.GetElapsedTime(_batchStarted);
        }

        if (_durableSize > (_latestCheckpoint?.Checkpoint.Size ?? 0))
        {
            var checkpointDue = _options.CheckpointInterval - _time.GetElapsedTime(_lastCheckpointAt);
            due = due == Timeout.InfiniteTimeSpan || checkpointDue < due ? checkpointDue : due;
        }

        if (due != Timeout.InfiniteTimeSpan && due <= TimeSpan.Zero)
        {
            return;
        }

        // No open batch: the next entry must wake the writer to start one (its flush clock starts
        // then). Look at the queue again after saying so, or an entry queued in between would wait.
        var idle = _batchLength == 0;
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

        // Reset while _wakePending is still 1: no Wake can Set it until the loop clears that flag.
        _wake.Wait();
        _wake.Reset();
        if (idle)
        {
            Volatile.Write(ref _idle, 0);
        }
    }

    private void Append(Pending pending)
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

    private void AppendNow(LifecycleBody body) => Append(_time.GetUtcNow(), body, durable: null);

    private void Append(DateTimeOffset timestamp, AuditBody body, TaskCompletionSource<AuditReceipt>? durable)
    {
        if (_segmentEntries >= _options.SegmentMaxEntries || _segmentBytes >= _options.SegmentMaxBytes)
        {
            RollSegment();
        }

        _encoder.Encode(_nextSeq, timestamp, _options.NodeId, _prev, body);
        var line = _encoder.Line;
        MerkleHash.Sha256(line, _prev);

        if (_batchLength == 0)
        {
            _batchStarted = _time.GetTimestamp();
            _batchFirstSeq = _nextSeq;
        }

        var needed = _batchLength + line.Length + 1;
        if (needed > _batch.Length)
        {
            Array.Resize(ref _batch, Math.Max(needed, _batch.Length * 2));
        }

        line.CopyTo(_batch.AsSpan(_batchLength));
        if (!_options.HashLeavesInLanes)
        {
            MerkleHash.Sha256(_encoder.LeafInput, _leaf);
            _tree.Append(_leaf);
        }
        else
        {
            _unhashed[_unhashedCount++] = (_batchLength, line.Length);
            if (_unhashedCount == Sha256x16.Lanes)
            {
                HashLeaves();
            }
        }

        _batchLength += line.Length;
        _batch[_batchLength++] = (byte)'\n';
        _batchKinds[(int)body.Kind]++;
        _batchEntryKinds.Add(body.Kind);
        if (durable is not null)
        {
            _waiters.Add((durable, _nextSeq));
        }

        _nextSeq++;
        _segmentEntries++;
        _segmentBytes += line.Length + 1;
    }

    /// <summary>
    /// Appends the leaves of the batch's lines not yet in the tree, in order: 16 at a time in lanes,
    /// or one by one when there are too few for a pass over all lanes to pay.
    /// </summary>
    private void HashLeaves()
    {
        const int FewestForLanes = 8;
        var lines = _unhashed.AsSpan(0, _unhashedCount);
        _unhashedCount = 0;
        if (lines.Length >= FewestForLanes)
        {
            Sha256x16.HashPrefixed(0x00, _batch, lines, _laneHashes);
            for (var i = 0; i < lines.Length; i++)
            {
                _tree.Append(_laneHashes.AsSpan(i * MerkleHash.Size, MerkleHash.Size));
            }

            return;
        }

        foreach (var (start, length) in lines)
        {
            MerkleHash.Leaf(_batch.AsSpan(start, length), _leaf);
            _tree.Append(_leaf);
        }
    }

    /// <summary>Writes the batch and fsyncs once; then the waiters, subscribers and metrics learn of it.</summary>
    private void Flush()
    {
        var started = _time.GetTimestamp();
        WriteAndSync();
        if (_durableSize != _nextSeq)
        {
            _durableRoot = _tree.Root();
            Volatile.Write(ref _durableSize, _nextSeq);
        }

        _metrics.Flushed(_time.GetElapsedTime(started), _batchKinds);
        Array.Clear(_batchKinds);
        foreach (var (waiter, seq) in _waiters)
        {
            waiter.TrySetResult(new AuditReceipt(seq));
        }

        _waiters.Clear();
        _batchEntryKinds.Clear();
    }

    /// <summary>Appends the batch to the segment, fsyncs it, then shows it to subscribers.</summary>
    private void WriteAndSync()
    {
        HashLeaves();
        if (_batchLength > 0)
        {
            _segment.Write(_batch, 0, _batchLength);
        }

        _segment.Flush(flushToDisk: true);
        _segmentDroppedTo = PageCache.DropDurable(_segment.SafeFileHandle, _segmentDroppedTo, _segmentBytes);
        Publish();
        _batchLength = 0;
    }

    private void Publish()
    {
        var subscribers = Volatile.Read(ref _subscribers);
        if (subscribers.Length == 0 || _batchLength == 0)
        {
            return;
        }

        var seq = _batchFirstSeq;
        var rest = _batch.AsSpan(0, _batchLength);
        var i = 0;
        while (rest.Length > 0)
        {
            var newline = rest.IndexOf((byte)'\n');
            var live = new LiveEntry(seq++, _batchEntryKinds[i++], Encoding.UTF8.GetString(rest[..newline]));
            foreach (var subscriber in subscribers)
            {
                subscriber.TryWrite(live);
            }

            rest = rest[(newline + 1)..];
        }
    }

    private void RollSegment()
    {
        WriteAndSync();
        PageCache.DropClosed(_segment.SafeFileHandle, _segmentDroppedTo, _segmentBytes);
        _segment.Dispose();
        _batchEntryKinds.Clear();
        _batchFirstSeq = _nextSeq;
        _segment = OpenSegment(_nextSeq);
        _segmentEntries = 0;
        _segmentBytes = 0;
        _segmentDroppedTo = 0;
    }

    private FileStream OpenSegment(long firstSeq)
    {
        var file = new FileStream(LogLayout.SegmentPath(_options.DataDirectory, firstSeq), FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, bufferSize: 0);
        file.Seek(0, SeekOrigin.End);
        return file;
    }

    /// <summary>Signs the durable tree; never two checkpoints for one size, never an entry that is not yet fsynced.</summary>
    private void WriteCheckpoint()
    {
        _lastCheckpointAt = _time.GetTimestamp();
        var size = _durableSize;
        if (size == 0 || size == _latestCheckpoint?.Checkpoint.Size)
        {
            return;
        }

        var checkpoint = new Checkpoint(_options.Origin, size, _durableRoot);
        var signed = new SignedCheckpoint(checkpoint, _signer.Sign(checkpoint.ToText()));
        CheckpointStore.Write(_options.DataDirectory, signed);
        Volatile.Write(ref _latestCheckpoint, signed);
    }

    private readonly record struct Pending(AuditEntry Entry, TaskCompletionSource<AuditReceipt>? Durable);
}
