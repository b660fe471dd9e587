using System.Diagnostics.Metrics;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// The log, written. Producers put entries on a bounded queue (<see cref="EntryQueue{T}"/>) and wake
/// the writer thread as <see cref="WriterSignal"/> says; the thread (<see cref="LogWriter"/>)
/// encodes, chains, hashes, group-commits and signs. <see cref="OpenAsync"/> opens (and recovers) the
/// log; <see cref="DisposeAsync"/> writes what is queued, a stop entry and a final checkpoint.
/// </summary>
internal sealed partial class AuditLog : IAuditLog, IDurableEntries, ISignedCheckpoints, IAsyncDisposable
{
    private readonly EntryQueue<PendingEntry> _queue;
    private readonly WriterSignal _signal;
    private readonly AuditMetrics _metrics;
    private readonly LiveFeed _feed = new();
    private readonly CheckpointSigner _checkpoints;
    private readonly LogWriter _writer;
    private readonly SegmentSealer _sealer;
    private Thread? _thread;
    private bool _ownsAvailability;
    private int _disposed;

    private AuditLog(AuditOptions options, ISha256 sha, ILogger logger, IMeterFactory? meterFactory, LogAvailability availability, OpenedLog opened)
    {
        Availability = availability;
        _queue = new EntryQueue<PendingEntry>(options.QueueCapacity);
        _signal = new WriterSignal(_queue, options.TimeProvider);
        _metrics = new AuditMetrics(meterFactory, () => _queue.Count);
        _checkpoints = new CheckpointSigner(options, opened.Signer, opened.Latest);
        var pruner = options.RetainMaxAge is null ? null : new SegmentPruner(options, sha, logger, () => _checkpoints.Latest, AppendDurableAsync);
        _sealer = new SegmentSealer(options, logger, () => _checkpoints.Latest, pruner);
        _writer = new LogWriter(options, sha, logger, _queue, _signal, _metrics, availability, _feed, _checkpoints, opened.Recovered, _sealer.Closed);
    }

    public SignedCheckpoint? LatestCheckpoint => _checkpoints.Latest;

    public long DurableSize => _writer.DurableSize;

    public LogAvailability Availability { get; }

    /// <summary>
    /// Opens (or creates) the log: loads or generates the signing key, recovers a torn tail,
    /// checks the tree against the last checkpoint, records recovery and start, and starts the writer.
    /// <paramref name="availability"/>: where the log says whether it can be written (one of its own when null).
    /// </summary>
    public static async Task<AuditLog> OpenAsync(
        AuditOptions options,
        ILogger? logger = null,
        IMeterFactory? meterFactory = null,
        LogAvailability? availability = null,
        CancellationToken cancellationToken = default)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }

        logger ??= NullLogger.Instance;
        var hashing = Sha256Selection.Select(options.Sha256);
        if (hashing.Refused is { } refused)
        {
            Log.Sha256Refused(logger, refused, hashing.Sha256.Name);
        }

        var owned = availability is null;
        availability ??= new LogAvailability(meterFactory, options.DataDirectory);
        var (log, recovered) = await Task.Run(() => Create(options, hashing.Sha256, logger, meterFactory, availability), cancellationToken);
        log._ownsAvailability = owned;
        try
        {
            if (recovered.Unclean)
            {
                var lastSegment = recovered.LastSegment is { } s ? Path.GetFileName(s.Path) : null;
                Log.Recovered(logger, recovered.TruncatedBytes, recovered.TruncatedLines, lastSegment ?? "-", recovered.Size);
                log._writer.AppendNow(new LifecycleBody
                {
                    Event = LifecycleEvent.Recovery,
                    Version = options.Version,
                    TruncatedBytes = recovered.TruncatedBytes,
                    TruncatedLines = recovered.TruncatedLines,
                    Segment = lastSegment,
                });
            }

            log._writer.AppendNow(new LifecycleBody { Event = LifecycleEvent.Start, Version = options.Version });
            log._writer.Flush();
            log._writer.WriteCheckpoint();
            availability.Opened();
            log._writer.Reserve();
            Log.Opened(logger, options.DataDirectory, log.DurableSize, hashing.Sha256.Name);
            log._thread = new Thread(log._writer.Run) { IsBackground = true, Name = "audit log writer" };
            log._thread.Start();
            log._sealer.Start();
            return log;
        }
        catch
        {
            await log.DisposeResourcesAsync();
            throw;
        }
    }

    public ValueTask EnqueueAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var pending = new PendingEntry(entry, null);
        if (!_queue.TryAdd(pending))
        {
            return WaitForRoomAsync(pending, cancellationToken);
        }

        _signal.Queued(urgent: false);
        return ValueTask.CompletedTask;
    }

    public async Task<AuditReceipt> AppendDurableAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var waiter = new TaskCompletionSource<AuditReceipt>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = new PendingEntry(entry, waiter);
        if (_queue.TryAdd(pending))
        {
            _signal.Queued(urgent: true);
        }
        else
        {
            await WaitForRoomAsync(pending, cancellationToken);
        }

        return await waiter.Task.WaitAsync(cancellationToken);
    }

    public IAsyncEnumerable<LiveEntry> SubscribeAsync(CancellationToken cancellationToken) => _feed.SubscribeAsync(cancellationToken);

    public void Observe(DurableEntriesObserver observer) => _writer.Observe(observer);

    public void ObserveCheckpoints(Action<SignedCheckpoint> observer) => _checkpoints.Signed += observer;

    /// <summary>Stops taking entries, writes everything queued, a lifecycle stop entry and a final checkpoint.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _queue.Complete();
        if (_thread is not null)
        {
            _signal.Wake();
            await _writer.Done;
        }

        await DisposeResourcesAsync();
    }

    private static (AuditLog Log, RecoveredLog Recovered) Create(AuditOptions options, ISha256 sha, ILogger logger, IMeterFactory? meterFactory, LogAvailability availability)
    {
        var opened = LogOpener.Open(options, sha, logger);
        try
        {
            return (new AuditLog(options, sha, logger, meterFactory, availability, opened), opened.Recovered);
        }
        catch
        {
            opened.Signer.Dispose();
            throw;
        }
    }

    private async ValueTask DisposeResourcesAsync()
    {
        await _sealer.DisposeAsync();
        Availability.Closed("the audit log is closed");
        if (_ownsAvailability)
        {
            Availability.Dispose();
        }

        _feed.Complete();
        await _signal.DisposeAsync();
        _writer.Dispose();
        _checkpoints.Dispose();
        _metrics.Dispose();
    }

    private async ValueTask WaitForRoomAsync(PendingEntry pending, CancellationToken cancellationToken)
    {
        _metrics.BackpressureHit();
        _signal.Wake();
        await _queue.AddAsync(pending, cancellationToken);
        _signal.Queued(urgent: pending.Durable is not null);
    }
}
