using System.Diagnostics.Metrics;
using AuditGateway.Audit;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;
using AuditGateway.Audit.Writer;
using AuditGateway.ControlPlane;

namespace AuditGateway.Tests.Common;

/// <summary>
/// Faults for the reconcile transaction (docs/audit-log.md guarantee 6): an extra observer of route
/// table changes and a wrapped audit log, both failing when a test says so, and a short retry.
/// </summary>
internal static class ReconcileFaults
{
    /// <summary>A retry short enough for tests: 10 ms doubling to 50 ms.</summary>
    public static readonly ReconcileRetry ShortRetry = new(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50));

    /// <summary>Registers the short retry, <paramref name="observer"/> as one more applier, and (when given) a wrapped log.</summary>
    public static void Add(IServiceCollection services, FaultyObserver observer, Action<FaultyAuditLog>? log = null)
    {
        services.AddSingleton(ShortRetry);
        services.AddSingleton<IRouteTableApplier>(observer);
        if (log is not null)
        {
            services.AddSingleton<IAuditLog>(sp =>
            {
                var wrapped = new FaultyAuditLog(sp.GetRequiredService<AuditLogService>());
                log(wrapped);
                return wrapped;
            });
        }
    }
}

/// <summary>
/// An applier that takes effect with every table and whose prepare fails or waits when the test
/// says so. Only updates that change the table count (a status write in cluster mode, a resync, do
/// not): they are what fails, waits and is recorded as committed, in order.
/// </summary>
internal sealed class FaultyObserver : IRouteTableApplier
{
    private readonly Lock _lock = new();
    private readonly List<string> _committed = [];
    private int _failNext;
    private bool _failing;
    private TaskCompletionSource? _hold;
    private int _passBeforeHold;
    private int _failures;

    /// <summary>How many prepares failed so far.</summary>
    public int Failures => Volatile.Read(ref _failures);

    /// <summary>The revision of each committed table, in commit order.</summary>
    public IReadOnlyList<string> Committed
    {
        get
        {
            lock (_lock)
            {
                return [.. _committed];
            }
        }
    }

    /// <summary>The next <paramref name="times"/> prepares fail.</summary>
    public void FailNext(int times = 1)
    {
        lock (_lock)
        {
            _failNext = times;
        }
    }

    /// <summary>Every prepare fails until <see cref="Release"/>.</summary>
    public void FailUntilReleased()
    {
        lock (_lock)
        {
            _failing = true;
        }
    }

    /// <summary>After <paramref name="pass"/> more prepares that do not fail, the next ones wait until <see cref="Release"/>.</summary>
    public void Hold(int pass = 0)
    {
        lock (_lock)
        {
            _hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _passBeforeHold = pass;
        }
    }

    /// <summary>Prepares succeed again, at once.</summary>
    public void Release()
    {
        lock (_lock)
        {
            _failing = false;
            _failNext = 0;
            _hold?.TrySetResult();
            _hold = null;
            _passBeforeHold = 0;
        }
    }

    public Task WaitForFailuresAsync(int count) =>
        Eventually.TrueAsync(() => Failures >= count, TestGateway.Timeout, $"{count} failed prepares of the test observer (saw {Failures})");

    public async ValueTask<Action> PrepareAsync(RouteTableUpdate update, CancellationToken cancellationToken)
    {
        var revision = update.After.Revision;
        if (revision == update.Before.Revision)
        {
            return static () => { };
        }

        Task? hold = null;
        lock (_lock)
        {
            if (_failing || _failNext > 0)
            {
                _failNext = Math.Max(0, _failNext - 1);
                Interlocked.Increment(ref _failures);
                throw new InvalidOperationException("the test observer refused the change");
            }

            if (_passBeforeHold > 0)
            {
                _passBeforeHold--;
            }
            else
            {
                hold = _hold?.Task;
            }
        }

        if (hold is not null)
        {
            await hold.WaitAsync(cancellationToken);
        }

        return () =>
        {
            lock (_lock)
            {
                _committed.Add(revision);
            }
        };
    }
}

/// <summary>Passes everything through, but the config appends the test picks throw (as an fsync that failed would).</summary>
internal sealed class FaultyAuditLog(IAuditLog inner) : IAuditLog
{
    private int _skip;
    private int _fail;
    private int _failures;

    /// <summary>How many config appends failed so far.</summary>
    public int Failures => Volatile.Read(ref _failures);

    public SignedCheckpoint? LatestCheckpoint => inner.LatestCheckpoint;

    public LogAvailability Availability => inner.Availability;

    public long DurableSize => inner.DurableSize;

    /// <summary>After <paramref name="skip"/> more config appends succeed, the next <paramref name="fail"/> throw.</summary>
    public void FailConfigAppends(int skip, int fail)
    {
        lock (this)
        {
            _skip = skip;
            _fail = fail;
        }
    }

    public ValueTask EnqueueAsync(AuditEntry entry, CancellationToken cancellationToken = default) => inner.EnqueueAsync(entry, cancellationToken);

    public Task<AuditReceipt> AppendDurableAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        if (entry.Kind == AuditKind.Config)
        {
            lock (this)
            {
                if (_skip > 0)
                {
                    _skip--;
                }
                else if (_fail > 0)
                {
                    _fail--;
                    Interlocked.Increment(ref _failures);
                    return Task.FromException<AuditReceipt>(new IOException("fsync failed (test)"));
                }
            }
        }

        return inner.AppendDurableAsync(entry, cancellationToken);
    }

    public IAsyncEnumerable<LiveEntry> SubscribeAsync(CancellationToken cancellationToken) => inner.SubscribeAsync(cancellationToken);
}

/// <summary>Sums <c>auditgw_config_reload_failures_total</c> of one gateway (its meter factory).</summary>
internal sealed class ReloadFailureCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    public ReloadFailureCounter(IMeterFactory gateway)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == gateway && instrument.Name == "auditgw_config_reload_failures_total")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}
