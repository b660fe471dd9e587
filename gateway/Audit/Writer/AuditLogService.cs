using System.Diagnostics.Metrics;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// The audit log as a service: registered before it is open, opened (with recovery) by
/// <see cref="StartAsync"/>, closed (flush, stop entry, final checkpoint) by <see cref="DisposeAsync"/>.
/// Whoever starts the gateway opens it before anything writes entries and closes it after everything
/// that writes has stopped.
/// </summary>
internal sealed class AuditLogService(AuditOptions options, ILoggerFactory loggerFactory, IMeterFactory meterFactory) : IAuditLog, IDurableEntries, ISignedCheckpoints, IAsyncDisposable
{
    private AuditLog? _log;

    private AuditLog Log => Volatile.Read(ref _log) ?? throw new InvalidOperationException("the audit log is not open yet");

    /// <summary>Exists before the log is open (not writable until then), so the request path and readiness can hold it.</summary>
    public LogAvailability Availability { get; } = new(meterFactory, options.DataDirectory);

    public SignedCheckpoint? LatestCheckpoint => Log.LatestCheckpoint;

    public long DurableSize => Log.DurableSize;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var log = await AuditLog.OpenAsync(options, loggerFactory.CreateLogger("AuditGateway.Audit"), meterFactory, Availability, cancellationToken);
        Volatile.Write(ref _log, log);
    }

    public ValueTask EnqueueAsync(AuditEntry entry, CancellationToken cancellationToken = default) => Log.EnqueueAsync(entry, cancellationToken);

    public Task<AuditReceipt> AppendDurableAsync(AuditEntry entry, CancellationToken cancellationToken = default) => Log.AppendDurableAsync(entry, cancellationToken);

    public IAsyncEnumerable<LiveEntry> SubscribeAsync(CancellationToken cancellationToken) => Log.SubscribeAsync(cancellationToken);

    public void Observe(DurableEntriesObserver observer) => Log.Observe(observer);

    public void ObserveCheckpoints(Action<SignedCheckpoint> observer) => Log.ObserveCheckpoints(observer);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _log, null) is { } log)
        {
            await log.DisposeAsync();
        }

        Availability.Dispose();
    }
}
