using System.Diagnostics.Metrics;

namespace AuditGateway.Audit.Writer;

/// <summary>The log's instruments on the <c>AuditGateway</c> meter.</summary>
internal sealed class AuditMetrics : IDisposable
{
    private static readonly string[] s_kindTags = ["request", "config", "security", "lifecycle"];

    private readonly Meter _meter;
    private readonly Counter<long> _entries;
    private readonly Counter<long> _backpressure;
    private readonly Histogram<double> _flushSeconds;

    public AuditMetrics(IMeterFactory? meterFactory, Func<int> queueDepth)
    {
        _meter = meterFactory?.Create(LogAvailability.MeterName) ?? new Meter(LogAvailability.MeterName);
        _entries = _meter.CreateCounter<long>("auditgw_audit_entries_total", description: "Entries made durable, by kind.");
        _backpressure = _meter.CreateCounter<long>("auditgw_audit_backpressure_total", description: "Times a producer found the audit queue full and had to wait.");
        // Buckets for an fsync (sub-millisecond on NVMe, tens of milliseconds on network volumes), as advice /metrics and OTLP follow.
        _flushSeconds = _meter.CreateHistogram(
            "auditgw_audit_flush_seconds",
            unit: "s",
            description: "Time to write and fsync one batch.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        _meter.CreateObservableGauge("auditgw_audit_queue_depth", queueDepth, description: "Entries waiting for the audit writer.");
    }

    public void BackpressureHit() => _backpressure.Add(1);

    public void Flushed(TimeSpan duration, ReadOnlySpan<long> entriesByKind)
    {
        _flushSeconds.Record(duration.TotalSeconds);
        for (var kind = 0; kind < entriesByKind.Length; kind++)
        {
            if (entriesByKind[kind] > 0)
            {
                _entries.Add(entriesByKind[kind], new KeyValuePair<string, object?>("kind", s_kindTags[kind]));
            }
        }
    }

    public static int KindCount => s_kindTags.Length;

    public void Dispose() => _meter.Dispose();
}
