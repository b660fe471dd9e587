using System.Buffers.Binary;
using System.Collections.Concurrent;
using AuditGateway.Demo;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AuditGateway.Tests.Telemetry;

/// <summary>A span as it arrived over OTLP.</summary>
internal sealed record ReceivedSpan(string TraceId, string SpanId, string ParentSpanId, string Name, int Kind, IReadOnlyDictionary<string, string> Attributes)
{
    public const int Server = 2;
    public const int Client = 3;
}

/// <summary>One data point of a metric as it arrived: its attributes and its value (a histogram's count).</summary>
internal sealed record ReceivedPoint(string Metric, IReadOnlyDictionary<string, string> Attributes, double Value);

/// <summary>
/// An OTLP collector for tests, on loopback: OTLP/HTTP protobuf (<c>/v1/traces</c>, <c>/v1/metrics</c>)
/// or OTLP/gRPC over h2c. It decodes every export request (spans; sums, gauges and histograms) and keeps what it read.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly LoopbackServer _server;

    private OtlpReceiver(LoopbackServer server, bool grpc)
    {
        _server = server;
        Endpoint = grpc ? $"http://127.0.0.1:{server.Port}" : $"http://127.0.0.1:{server.Port}/";
    }

    public string Endpoint { get; }

    public ConcurrentQueue<ReceivedSpan> Spans { get; } = new();

    public ConcurrentQueue<ReceivedPoint> Points { get; } = new();

    /// <summary>Export requests that could not be decoded (a test fails on any).</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    public static async Task<OtlpReceiver> StartAsync(bool grpc)
    {
        OtlpReceiver? receiver = null;
        var server = await LoopbackServer.StartAsync(
            app => app.Run(context => receiver!.ReceiveAsync(context, grpc)),
            listen: l => l.Protocols = grpc ? HttpProtocols.Http2 : HttpProtocols.Http1);
        receiver = new OtlpReceiver(server, grpc);
        return receiver;
    }

    private async Task ReceiveAsync(HttpContext context, bool grpc)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        ReadOnlyMemory<byte> message = body.ToArray();
        var path = context.Request.Path.Value ?? "";
        try
        {
            if (grpc)
            {
                // One length-prefixed message: a compressed flag (0) and the length, big-endian.
                var length = BinaryPrimitives.ReadInt32BigEndian(message.Span[1..5]);
                message = message.Slice(5, length);
            }

            if (path.EndsWith("/v1/traces", StringComparison.Ordinal) || path.EndsWith("TraceService/Export", StringComparison.Ordinal))
            {
                DecodeTraces(message);
            }
            else if (path.EndsWith("/v1/metrics", StringComparison.Ordinal) || path.EndsWith("MetricsService/Export", StringComparison.Ordinal))
            {
                DecodeMetrics(message);
            }
            else
            {
                Errors.Enqueue("unexpected path " + path);
            }
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            Errors.Enqueue($"{path}: {e.Message}");
        }

        if (grpc)
        {
            context.Response.ContentType = "application/grpc";
            context.Response.AppendTrailer("grpc-status", "0");
            await context.Response.Body.WriteAsync(new byte[5]);
        }
        else
        {
            context.Response.ContentType = "application/x-protobuf";
        }
    }

    /// <summary>ExportTraceServiceRequest: resource_spans(1) → scope_spans(2) → spans(2).</summary>
    private void DecodeTraces(ReadOnlyMemory<byte> request)
    {
        foreach (var resource in Protobuf.All(request, 1))
        {
            foreach (var scope in Protobuf.All(resource, 2))
            {
                foreach (var span in Protobuf.All(scope, 2))
                {
                    Spans.Enqueue(new ReceivedSpan(
                        Hex(Protobuf.One(span, 1)),
                        Hex(Protobuf.One(span, 2)),
                        Hex(Protobuf.One(span, 4)),
                        Protobuf.One(span, 5)?.Text ?? "",
                        (int)(Protobuf.One(span, 6)?.Number64 ?? 0),
                        Attributes(span, 9)));
                }
            }
        }
    }

    /// <summary>ExportMetricsServiceRequest: resource_metrics(1) → scope_metrics(2) → metrics(2): gauge(5), sum(7), histogram(9).</summary>
    private void DecodeMetrics(ReadOnlyMemory<byte> request)
    {
        foreach (var resource in Protobuf.All(request, 1))
        {
            foreach (var scope in Protobuf.All(resource, 2))
            {
                foreach (var metric in Protobuf.All(scope, 2))
                {
                    var name = Protobuf.One(metric, 1)?.Text ?? "";
                    foreach (var number in Protobuf.All(metric, 5).Concat(Protobuf.All(metric, 7)))
                    {
                        foreach (var point in Protobuf.All(number, 1))
                        {
                            // NumberDataPoint: as_double(4), as_int(6), attributes(7).
                            var value = Protobuf.One(point, 4) is { } d ? d.Double : (double)(long)(Protobuf.One(point, 6)?.Number64 ?? 0);
                            Points.Enqueue(new ReceivedPoint(name, Attributes(point, 7), value));
                        }
                    }

                    foreach (var histogram in Protobuf.All(metric, 9))
                    {
                        foreach (var point in Protobuf.All(histogram, 1))
                        {
                            // HistogramDataPoint: count(4), attributes(9).
                            Points.Enqueue(new ReceivedPoint(name, Attributes(point, 9), Protobuf.One(point, 4)?.Number64 ?? 0));
                        }
                    }
                }
            }
        }
    }

    /// <summary>KeyValue(key 1, AnyValue 2: string 1, bool 2, int 3, double 4), as text.</summary>
    private static Dictionary<string, string> Attributes(ReadOnlyMemory<byte> message, int number)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in Protobuf.All(message, number))
        {
            var key = Protobuf.One(pair, 1)?.Text ?? "";
            var value = Protobuf.All(pair, 2).FirstOrDefault();
            attributes[key] = Protobuf.One(value, 1) is { WireType: 2 } text ? text.Text
                : Protobuf.One(value, 3) is { } integer ? ((long)integer.Number64).ToString(System.Globalization.CultureInfo.InvariantCulture)
                : Protobuf.One(value, 2) is { } flag ? (flag.Number64 != 0).ToString()
                : "";
        }

        return attributes;
    }

    private static string Hex(ProtoField? field) => field is { } f ? Convert.ToHexStringLower(f.Bytes.Span) : "";

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
