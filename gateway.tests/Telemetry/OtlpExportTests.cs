using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Telemetry;

/// <summary>OTLP over gRPC (the default protocol): traces and metrics arrive at the receiver and decode to what the gateway did.</summary>
[Collection(OtlpTests.Name)]
public sealed class OtlpExportTests
{
    private const string Route = "default/otlp:otlp.test/:Prefix";

    [Fact]
    public async Task Traces_and_metrics_arrive_decoded_over_grpc()
    {
        await using var receiver = await OtlpReceiver.StartAsync(grpc: true);
        await using var gateway = new TestGateway { ConfigYaml = $"telemetry:\n  otlpEndpoint: {receiver.Endpoint}\n  traceSampleRatio: 1\n" };
        await gateway.AddBackendsAsync("shop");
        gateway.WriteManifest("all.yaml", Manifests.Documents(
            gateway.ServiceFor("shop"),
            Manifests.Ingress("otlp", [new HostRule("otlp.test", new PathRule("/", "Prefix", "shop", 80))])));
        await gateway.StartAsync(OtlpTestOptions.Shorten);
        var traceIds = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var echo = await gateway.GetEchoAsync("http://otlp.test/m");
            traceIds.Add(echo.Headers["traceparent"].Split('-')[1]);
        }

        await Eventually.TrueAsync(
            () => traceIds.All(id => receiver.Spans.Count(s => s.TraceId == id) == 2),
            TestGateway.Timeout,
            "a SERVER and a CLIENT span of each request");
        Assert.All(traceIds, id => Assert.Equal(
            [ReceivedSpan.Server, ReceivedSpan.Client],
            receiver.Spans.Where(s => s.TraceId == id).Select(s => s.Kind).Order()));
        Assert.All(receiver.Spans.Where(s => traceIds.Contains(s.TraceId) && s.Kind == ReceivedSpan.Server), s => Assert.Equal("GET " + Route, s.Name));

        await Eventually.TrueAsync(
            () => Point("auditgw_requests_total", Route) is { Value: 2 } && Point("auditgw_request_duration_seconds", Route) is { Value: 2 }
                && Point("auditgw_upstream_duration_seconds", Route) is { Value: 2 },
            TestGateway.Timeout,
            "the two requests in the request metrics");
        var requests = Point("auditgw_requests_total", Route)!;
        Assert.Equal("2xx", requests.Attributes["code_class"]);
        Assert.Equal("allow", requests.Attributes["decision"]);
        await Eventually.TrueAsync(
            () => receiver.Points.Any(p => p.Metric == "auditgw_audit_entries_total" && p.Attributes.GetValueOrDefault("kind") == "request" && p.Value >= 2)
                && receiver.Points.Any(p => p.Metric == "dotnet.gc.collections"),
            TestGateway.Timeout,
            "the audit and runtime meters");
        Assert.Empty(receiver.Errors);

        ReceivedPoint? Point(string metric, string route) =>
            receiver.Points.LastOrDefault(p => p.Metric == metric && p.Attributes.GetValueOrDefault("route") == route);
    }
}
