using AuditGateway.Kubernetes.Models;
using AuditGateway.Routing;

namespace AuditGateway.ControlPlane;

/// <summary>
/// Where every config source delivers. One reconcile at a time, in this order: keep the current
/// objects, translate them into a route table, record the change (its <c>config</c> entries durable,
/// docs/audit-log.md guarantee 1), let what takes effect with the table prepare (certificates), and
/// only then swap the table in.
/// </summary>
internal sealed partial class ConfigPipeline(
    RoutingState state,
    ClassOptions classes,
    ConfigChangeRecorder recorder,
    IEnumerable<IRouteTableApplier> appliers,
    ILogger<ConfigPipeline> logger) : IConfigSink, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<ObjectKey, KubeResource> _objects = [];
    private readonly IRouteTableApplier[] _appliers = [.. appliers];
    private IReadOnlyDictionary<ObjectKey, Ingress> _accepted = new Dictionary<ObjectKey, Ingress>();
    private Dictionary<string, IngressReport> _reports = new(StringComparer.Ordinal);
    private volatile IReadOnlyDictionary<ObjectKey, KubeResource> _snapshot = new Dictionary<ObjectKey, KubeResource>();

    /// <summary>Every object as of the last reconcile (a copy; readers never lock).</summary>
    public IReadOnlyDictionary<ObjectKey, KubeResource> Objects => _snapshot;

    public async Task ApplyAsync(IReadOnlyList<ResourceChange> changes, ChangeContext context, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            foreach (var change in changes)
            {
                if (change.New is null)
                {
                    _objects.Remove(change.Key);
                }
                else
                {
                    _objects[change.Key] = change.New;
                }
            }

            var result = IngressTranslator.Translate(new TranslationInput
            {
                Objects = _objects,
                LastAccepted = _accepted,
                Classes = classes,
            });
            LogReports(result.Table);

            var before = state.Current;
            var after = result.Table;
            var update = new RouteTableUpdate(before, after, RouteTableDiff.Compute(before, after), changes, context);
            // Write-ahead: nothing of the change takes effect before its entries are durable.
            await recorder.RecordAsync(update, cancellationToken);
            foreach (var applier in _appliers)
            {
                await applier.ApplyAsync(update, cancellationToken);
            }

            // Before the swap: whoever wakes on the new table (the status writer) finds its objects.
            _snapshot = new Dictionary<ObjectKey, KubeResource>(_objects);
            if (after.Revision != before.Revision)
            {
                state.Swap(after);
                LogSwapped(logger, before.Revision, after.Revision, update.Effect.Added.Count, update.Effect.Removed.Count, update.Effect.Changed.Count, context.Via);
            }

            _accepted = result.Accepted;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void MarkSynced() => state.MarkSynced();

    public void Dispose() => _gate.Dispose();

    /// <summary>Logs refusals and warnings when they change, naming the Ingress and the field.</summary>
    private void LogReports(RouteTable table)
    {
        var reports = table.Ingresses.ToDictionary(r => r.Ingress, StringComparer.Ordinal);
        foreach (var (name, report) in reports)
        {
            if (_reports.TryGetValue(name, out var previous)
                && previous.Status == report.Status
                && previous.Errors.SequenceEqual(report.Errors)
                && previous.Warnings.SequenceEqual(report.Warnings))
            {
                continue;
            }

            if (report.Errors.Count > 0)
            {
                var serving = report.Status == IngressOutcome.Refused ? "not served" : "its previous valid version keeps serving";
                LogRefused(logger, name, string.Join("; ", report.Errors), serving);
            }

            foreach (var warning in report.Warnings)
            {
                LogWarning(logger, name, warning);
            }
        }

        _reports = reports;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Route table {Before} -> {After}: {Added} added, {Removed} removed, {Changed} changed (via {Via})")]
    private static partial void LogSwapped(ILogger logger, string before, string after, int added, int removed, int changed, ChangeVia via);

    [LoggerMessage(Level = LogLevel.Error, Message = "Ingress {Ingress} refused: {Errors}; {Serving}")]
    private static partial void LogRefused(ILogger logger, string ingress, string errors, string serving);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ingress {Ingress}: {Warning}")]
    private static partial void LogWarning(ILogger logger, string ingress, string warning);
}

/// <summary>A table about to be swapped in, with what caused it and what it changes.</summary>
internal sealed record RouteTableUpdate(
    RouteTable Before,
    RouteTable After,
    RouteTableDiff Effect,
    IReadOnlyList<ResourceChange> Changes,
    ChangeContext Context);

/// <summary>
/// Something that takes effect together with a route table, such as the certificates served by SNI.
/// Runs for every batch of changes (even when the table does not change), after the change is
/// recorded and before its table is swapped in.
/// </summary>
internal interface IRouteTableApplier
{
    ValueTask ApplyAsync(RouteTableUpdate update, CancellationToken cancellationToken);
}
