using System.Diagnostics.Metrics;
using AuditGateway.ControlPlane;
using AuditGateway.Policy;
using AuditGateway.Routing;

namespace AuditGateway.Telemetry;

/// <summary>
/// The gateway's state as metrics on the <c>AuditGateway</c> meter: reloads that took effect (this
/// is one of the pipeline's appliers: its commit runs only for a change that is recorded and in
/// force), whether the last change took effect and when, the revision in force, and blocked clients.
/// Failed reloads are the pipeline's own <c>auditgw_config_reload_failures_total</c>.
/// </summary>
internal sealed class ConfigMetrics : IRouteTableApplier, IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _reloads;
    private readonly TimeProvider _time;
    private long _lastSuccessTicks;

    public ConfigMetrics(IMeterFactory meterFactory, TimeProvider time)
    {
        _time = time;
        _meter = meterFactory.Create(MeterCollector.GatewayMeter);
        _reloads = _meter.CreateCounter<long>("auditgw_config_reloads_total", description: "Config changes that took effect (recorded in the log, then in force).");
        _meter.CreateObservableGauge(
            "auditgw_config_last_reload_success_timestamp_seconds",
            () => Interlocked.Read(ref _lastSuccessTicks) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero).ToUnixTimeMilliseconds() / 1000.0 : 0,
            description: "When a config change last took effect (Unix time; 0: none since start).");
    }

    /// <summary>The gauges that read other parts of the gateway; made once those exist (they read the pipeline this class is part of).</summary>
    public void ObserveState(RoutingState routing, ConfigPipeline pipeline, IBlockList blocks)
    {
        _meter.CreateObservableGauge(
            "auditgw_config_revision_info",
            () => new Measurement<int>(1, new KeyValuePair<string, object?>("revision", routing.Current.Revision)),
            description: "The revision (content hash of the route and policy table) in force; always 1.");
        _meter.CreateObservableGauge(
            "auditgw_config_last_reload_successful",
            () => pipeline.Pending is null ? 1 : 0,
            description: "0 while a config change fails to take effect (it is retried; the previous configuration stays in force), else 1.");
        _meter.CreateObservableGauge("auditgw_blocked_clients", () => blocks.Count, description: "Clients blocked now (probe detection or an operator).");
    }

    public ValueTask<Action> PrepareAsync(RouteTableUpdate update, CancellationToken cancellationToken) => ValueTask.FromResult<Action>(Committed);

    public void Dispose() => _meter.Dispose();

    private void Committed()
    {
        _reloads.Add(1);
        Interlocked.Exchange(ref _lastSuccessTicks, _time.GetUtcNow().UtcTicks);
    }
}
