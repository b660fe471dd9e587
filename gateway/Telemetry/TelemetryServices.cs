using AuditGateway.ControlPlane;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AuditGateway.Telemetry;

/// <summary>
/// Registers the metrics behind <c>/metrics</c> (always) and, when <c>telemetry.otlpEndpoint</c> is
/// set, the OpenTelemetry SDK: traces from <see cref="RequestTracing"/> with parent-based ratio
/// sampling, and the gateway's, the request and the runtime meters, both exported over OTLP.
/// </summary>
internal static class TelemetryServices
{
    public static void Add(IServiceCollection services, TelemetryOptions options, string node)
    {
        services.AddSingleton(options);
        services.AddSingleton<RequestMetrics>();
        services.AddSingleton<MeterCollector>();
        services.AddSingleton<MetricsEndpoint>();
        services.AddSingleton<RequestTracing>();
        services.AddSingleton<ConfigMetrics>();
        services.AddSingleton<IRouteTableApplier>(sp => sp.GetRequiredService<ConfigMetrics>());
        if (options.OtlpEndpoint is not { } endpoint)
        {
            return;
        }

        // The exporters are made from the options in the container, so a test may shorten the intervals.
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("auditgw", serviceInstanceId: node))
            .WithTracing(tracing => tracing
                .AddSource(RequestTracing.SourceName)
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(options.TraceSampleRatio)))
                .AddProcessor(sp =>
                {
                    var o = sp.GetRequiredService<TelemetryOptions>();
                    return new BatchActivityExportProcessor(
                        new OtlpTraceExporter(Exporter(o, endpoint, "v1/traces")), scheduledDelayMilliseconds: (int)o.TraceExportDelay.TotalMilliseconds);
                }))
            .WithMetrics(metrics => metrics
                .AddMeter(MeterCollector.GatewayMeter, RequestMetrics.MeterName, MeterCollector.RuntimeMeter)
                .AddReader(sp =>
                {
                    var o = sp.GetRequiredService<TelemetryOptions>();
                    return new PeriodicExportingMetricReader(
                        new OtlpMetricExporter(Exporter(o, endpoint, "v1/metrics")), (int)o.MetricExportInterval.TotalMilliseconds);
                }));
    }

    /// <summary>gRPC takes the endpoint as given; OTLP/HTTP gets the signal's path when the endpoint names none.</summary>
    private static OtlpExporterOptions Exporter(TelemetryOptions options, Uri endpoint, string signalPath) => new()
    {
        Protocol = options.OtlpProtocol == OtlpProtocol.Grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf,
        Endpoint = options.OtlpProtocol == OtlpProtocol.HttpProtobuf && endpoint.AbsolutePath == "/" ? new Uri(endpoint, signalPath) : endpoint,
    };
}
