using System.Globalization;
using AuditGateway.Configuration;

namespace AuditGateway.Telemetry;

/// <summary>How traces and metrics leave the gateway over OTLP.</summary>
internal enum OtlpProtocol
{
    Grpc,
    HttpProtobuf,
}

/// <summary>
/// The <c>telemetry:</c> section (docs/metrics.md): where OTLP goes, the trace sampling ratio, and
/// the series cap of <c>/metrics</c>. Metrics on <c>/metrics</c> are always on.
/// </summary>
internal sealed record TelemetryOptions
{
    public const int DefaultMaxSeriesPerMetric = 5000;

    /// <summary>The OTLP collector; null: nothing is exported and no span is made.</summary>
    public Uri? OtlpEndpoint { get; init; }

    public OtlpProtocol OtlpProtocol { get; init; } = OtlpProtocol.Grpc;

    /// <summary>Share of root requests traced (parent-based: a client's sampled flag wins).</summary>
    public double TraceSampleRatio { get; init; } = 0.1;

    /// <summary>Label sets per metric beyond which new ones are counted under <c>route="_other"</c>.</summary>
    public int MaxSeriesPerMetric { get; init; } = DefaultMaxSeriesPerMetric;

    /// <summary>The longest a finished span waits before it is exported (tests shorten it; not a config key).</summary>
    public TimeSpan TraceExportDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often metrics are pushed over OTLP (tests shorten it; not a config key).</summary>
    public TimeSpan MetricExportInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Reads the section; throws <see cref="OptionException"/> naming the key for a bad value.</summary>
    public static TelemetryOptions Parse(string? otlpEndpoint, string? otlpProtocol, double? traceSampleRatio, int? maxSeriesPerMetric)
    {
        var options = new TelemetryOptions();
        if (!string.IsNullOrWhiteSpace(otlpEndpoint))
        {
            if (!Uri.TryCreate(otlpEndpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new OptionException($"telemetry.otlpEndpoint '{otlpEndpoint}': expected an http:// or https:// URL of an OTLP collector (e.g. http://127.0.0.1:4317)");
            }

            options = options with { OtlpEndpoint = uri };
        }

        options = options with
        {
            OtlpProtocol = otlpProtocol switch
            {
                null or "grpc" => OtlpProtocol.Grpc,
                "http/protobuf" => OtlpProtocol.HttpProtobuf,
                _ => throw new OptionException($"telemetry.otlpProtocol '{otlpProtocol}': expected grpc or http/protobuf"),
            },
        };

        if (traceSampleRatio is { } ratio)
        {
            if (!double.IsFinite(ratio) || ratio is < 0 or > 1)
            {
                throw new OptionException($"telemetry.traceSampleRatio '{ratio.ToString(CultureInfo.InvariantCulture)}': expected a number from 0 to 1 (0.1 traces one request in ten)");
            }

            options = options with { TraceSampleRatio = ratio };
        }

        if (maxSeriesPerMetric is { } max)
        {
            if (max < 1)
            {
                throw new OptionException($"telemetry.maxSeriesPerMetric '{max}': expected a whole number of at least 1");
            }

            options = options with { MaxSeriesPerMetric = max };
        }

        return options;
    }
}
