using System.Diagnostics.Metrics;
using System.Runtime;
using AuditGateway.Audit;
using AuditGateway.Kubernetes.Models;
using AuditGateway.Routing;

namespace AuditGateway.ControlPlane;

/// <summary>
/// Where every config source delivers. One reconcile at a time, and each one a transaction
/// (docs/audit-log.md, guarantees 1 and 6): the new object set is computed on a copy and translated
/// into a route table, every <see cref="IRouteTableApplier"/> prepares (certificates load), the
/// change is recorded (its <c>config</c> entries durable), and only then do the appliers commit, the
/// table swap in and the objects become current — steps that cannot fail. If an earlier step fails,
/// nothing of the change is in force; it is retried with backoff, holding the gate, so later batches
/// from any source wait behind it in order.
/// </summary>
internal sealed partial class ConfigPipeline : IConfigSink, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly RoutingState _state;
    private readonly ConfigChangeRecorder _recorder;
    private readonly IRouteTableApplier[] _appliers;
    private readonly ReconcileRetry _retry;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Meter _meter;
    private readonly Counter<long> _failures;
    private volatile RoutingModel _model;
    private volatile PendingChange? _pending;

    public ConfigPipeline(
        RoutingState state,
        ClassOptions classes,
        ConfigChangeRecorder recorder,
        IEnumerable<IRouteTableApplier> appliers,
        ReconcileRetry retry,
        TimeProvider time,
        IMeterFactory meterFactory,
        ILogger<ConfigPipeline> logger)
    {
        _state = state;
        _recorder = recorder;
        _appliers = [.. appliers];
        _retry = retry;
        _model = RoutingModel.Empty(classes);
        _time = time;
        _logger = logger;
        _meter = meterFactory.Create(LogAvailability.MeterName);
        _failures = _meter.CreateCounter<long>("auditgw_config_reload_failures_total", description: "Reconcile attempts that failed (the change is retried; the previous configuration stays in force).");
    }

    /// <summary>Every object in force (never changed after it is published; readers never lock).</summary>
    public IReadOnlyDictionary<ObjectKey, KubeResource> Objects => _model.Index.Objects;

    /// <summary>The IngressClasses in force (for the admission webhook's class check, without walking every object).</summary>
    public IReadOnlyList<IngressClass> IngressClasses => [.. _model.Index.Classes.Values];

    /// <summary>The change that has failed to take effect and is being retried; null when none is.</summary>
    public PendingChange? Pending => _pending;

    /// <summary>Applies the batch, retrying until it has taken effect; throws only when cancelled.</summary>
    public async Task ApplyAsync(IReadOnlyList<ResourceChange> changes, ChangeContext context, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var attempt = new Attempt(changes, context);
            var delay = _retry.First;
            while (true)
            {
                try
                {
                    await ReconcileAsync(attempt, cancellationToken);
                    break;
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    Failed(attempt, e);
                }

                await Task.Delay(delay, _time, cancellationToken);
                delay = delay * 2 < _retry.Max ? delay * 2 : _retry.Max;
            }

            if (attempt.Failures > 0)
            {
                _pending = null;
                var seconds = (_time.GetUtcNow() - attempt.Since).TotalSeconds;
                LogTookEffect(_logger, attempt.Objects, attempt.Failures + 1, seconds);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Applies the batch once (the start-up load: a failure fails the start); nothing of it takes effect if it throws.</summary>
    public async Task ApplyOnceAsync(IReadOnlyList<ResourceChange> changes, ChangeContext context, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await ReconcileAsync(new Attempt(changes, context), cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The first full view is in force. Loading it allocated far more than stays live (every manifest
    /// parsed, every object's config entry), and the GC keeps what it once committed: one compacting
    /// collection now hands that back to the system, so the resident set reflects what is in force.
    /// </summary>
    public void MarkSynced()
    {
        _state.MarkSynced();
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    public void Dispose()
    {
        _gate.Dispose();
        _meter.Dispose();
    }

    /// <summary>One try: every step that may fail first, without a visible effect; then the commits, which cannot fail.</summary>
    private async Task ReconcileAsync(Attempt attempt, CancellationToken cancellationToken)
    {
        // The plan depends only on what is in force, which stays put while this batch is retried.
        var started = _time.GetTimestamp();
        var plan = attempt.Plan ??= Plan(attempt.Changes, attempt.Context);
        var planned = _time.GetTimestamp();
        var commits = new Action[_appliers.Length];
        for (var i = 0; i < _appliers.Length; i++)
        {
            commits[i] = await _appliers[i].PrepareAsync(plan.Update, cancellationToken);
        }

        // Write-ahead: nothing of the change takes effect before its entries are durable. Entries
        // already durable from an earlier attempt are not written again.
        var prepared = _time.GetTimestamp();
        await _recorder.RecordAsync(plan.Record, cancellationToken);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            var (planMs, prepareMs, recordMs) = (Ms(started, planned), Ms(planned, prepared), _time.GetElapsedTime(prepared).TotalMilliseconds);
            LogTimings(_logger, attempt.Changes.Count, planMs, prepareMs, recordMs);
        }

        foreach (var commit in commits)
        {
            commit();
        }

        // Before the swap: whoever wakes on the new table (the status writer) finds its objects.
        _model = plan.Model;
        var (before, after) = (plan.Update.Before, plan.Update.After);
        if (after.Revision != before.Revision)
        {
            _state.Swap(after);
            var effect = plan.Update.Effect;
            LogSwapped(_logger, before.Revision, after.Revision, effect.Added.Count, effect.Removed.Count, effect.Changed.Count, attempt.Context.Via);
        }

        LogReports(plan.ChangedReports);
    }

    /// <summary>The model with the batch applied (the one in force is left as it is), its route table, and what the change does.</summary>
    private ReconcilePlan Plan(IReadOnlyList<ResourceChange> changes, ChangeContext context)
    {
        var step = _model.Apply(changes);
        var update = new RouteTableUpdate(_model.Table, step.Model.Table, step.Effect, changes, context);
        return new ReconcilePlan(step.Model, step.ChangedReports, update, new ConfigRecord(update));
    }

    /// <summary>Counts a failed attempt; the first failure of a change is one error line and makes it pending.</summary>
    private void Failed(Attempt attempt, Exception e)
    {
        _failures.Add(1);
        attempt.Failures++;
        if (attempt.Failures == 1)
        {
            attempt.Since = _time.GetUtcNow();
            attempt.Objects = Describe(attempt.Changes);
            LogFailed(_logger, attempt.Objects, e.Message, e);
        }

        _pending = new PendingChange(attempt.Objects, attempt.Since, attempt.Failures, e.Message);
    }

    /// <summary>The objects of a batch, for a log line: the first few by name, then how many more.</summary>
    private static string Describe(IReadOnlyList<ResourceChange> changes)
    {
        const int Named = 3;
        var names = string.Join(", ", changes.Take(Named).Select(c => c.Key.ToString()));
        return changes.Count > Named ? $"{names} and {changes.Count - Named} more" : names;
    }

    /// <summary>Logs refusals and warnings of the reports that changed, naming the Ingress and the field.</summary>
    private void LogReports(IReadOnlyList<IngressReport> changed)
    {
        foreach (var report in changed)
        {
            if (report.Errors.Count > 0)
            {
                var serving = report.Status == IngressOutcome.Refused ? "not served" : "its previous valid version keeps serving";
                LogRefused(_logger, report.Ingress, string.Join("; ", report.Errors), serving);
            }

            foreach (var warning in report.Warnings)
            {
                LogWarning(_logger, report.Ingress, warning);
            }
        }
    }

    private double Ms(long from, long to) => _time.GetElapsedTime(from, to).TotalMilliseconds;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reconcile of {Changes} changes: translated in {PlanMs:0.00} ms, prepared in {PrepareMs:0.00} ms, recorded (durable) in {RecordMs:0.00} ms")]
    private static partial void LogTimings(ILogger logger, int changes, double planMs, double prepareMs, double recordMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route table {Before} -> {After}: {Added} added, {Removed} removed, {Changed} changed (via {Via})")]
    private static partial void LogSwapped(ILogger logger, string before, string after, int added, int removed, int changed, ChangeVia via);

    [LoggerMessage(Level = LogLevel.Error, Message = "Ingress {Ingress} refused: {Errors}; {Serving}")]
    private static partial void LogRefused(ILogger logger, string ingress, string errors, string serving);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ingress {Ingress}: {Warning}")]
    private static partial void LogWarning(ILogger logger, string ingress, string warning);

    [LoggerMessage(Level = LogLevel.Error, Message = "Config change ({Objects}) could not take effect: {Error}; the previous configuration stays in force, and the change is retried (later changes wait behind it)")]
    private static partial void LogFailed(ILogger logger, string objects, string error, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Config change ({Objects}) took effect after {Attempts} attempts ({Seconds:0.0} s)")]
    private static partial void LogTookEffect(ILogger logger, string objects, int attempts, double seconds);

    /// <summary>One batch being applied: its plan once computed, and its failures so far.</summary>
    private sealed class Attempt(IReadOnlyList<ResourceChange> changes, ChangeContext context)
    {
        public IReadOnlyList<ResourceChange> Changes => changes;

        public ChangeContext Context => context;

        public ReconcilePlan? Plan { get; set; }

        public int Failures { get; set; }

        /// <summary>The objects, for log lines and <c>/readyz</c> (set at the first failure).</summary>
        public string Objects { get; set; } = "";

        /// <summary>When the first attempt failed.</summary>
        public DateTimeOffset Since { get; set; }
    }

    private sealed record ReconcilePlan(
        RoutingModel Model,
        IReadOnlyList<IngressReport> ChangedReports,
        RouteTableUpdate Update,
        ConfigRecord Record);
}

/// <summary>How a failed reconcile is retried: after <see cref="First"/>, doubling up to <see cref="Max"/>.</summary>
internal sealed record ReconcileRetry(TimeSpan First, TimeSpan Max)
{
    public static readonly ReconcileRetry Default = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5));
}

/// <summary>A change that has not taken effect yet: which objects, failing since when, how often, and why last.</summary>
internal sealed record PendingChange(string Objects, DateTimeOffset Since, int Attempts, string Error);

/// <summary>A table about to be swapped in, with what caused it and what it changes.</summary>
internal sealed record RouteTableUpdate(
    RouteTable Before,
    RouteTable After,
    RouteTableDiff Effect,
    IReadOnlyList<ResourceChange> Changes,
    ChangeContext Context);

/// <summary>
/// Something that takes effect together with a route table, such as the certificates served by SNI.
/// Runs for every batch of changes (even when the table does not change) in two steps: a prepare
/// that may fail and has no visible effect, before the change is recorded; and the commit it returns,
/// which cannot fail (a pointer swap), run after the change is recorded and before its table is
/// swapped in. A prepared change that is not committed is dropped.
/// </summary>
internal interface IRouteTableApplier
{
    ValueTask<Action> PrepareAsync(RouteTableUpdate update, CancellationToken cancellationToken);
}
