using System.Text.RegularExpressions;
using AuditGateway.Demo;
using AuditGateway.Telemetry;
using AuditGateway.Tests.Common;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AuditGateway.Tests.Telemetry;

/// <summary>
/// A traced gateway (every root sampled) exporting to an <see cref="OtlpReceiver"/>, with an HTTP/1.1
/// echo backend and an HTTPS backend that speaks HTTP/2 and reports the protocol and every
/// <c>traceparent</c> value it got.
/// </summary>
public sealed class TracingGateway : IAsyncLifetime
{
    public const string ShopRoute = "default/shop:shop.test/:Prefix";

    private LoopbackServer? _h2;

    internal TestGateway Gateway { get; private set; } = null!;

    internal OtlpReceiver Receiver { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Receiver = await OtlpReceiver.StartAsync(grpc: false);
        var certificate = TestCertificates.Create("h2 backend", "localhost");
        _h2 = await LoopbackServer.StartAsync(
            app => app.Run(context =>
            {
                context.Response.Headers["X-Protocol"] = context.Request.Protocol;
                return context.Response.WriteAsync(string.Join("\n", context.Request.Headers["traceparent"].ToArray()));
            }),
            listen: l =>
            {
                l.Protocols = HttpProtocols.Http1AndHttp2;
                l.UseHttps(certificate);
            });
        Gateway = new TestGateway
        {
            ConfigYaml = $"telemetry:\n  otlpEndpoint: {Receiver.Endpoint}\n  otlpProtocol: http/protobuf\n  traceSampleRatio: 1\n",
        };
        await Gateway.AddBackendsAsync("shop");
        Gateway.WriteManifest("all.yaml", Manifests.Documents(
            Gateway.ServiceFor("shop"),
            Manifests.Backend("h2", _h2.Port, 443, "https"),
            Manifests.Ingress("shop", [new HostRule("shop.test", new PathRule("/", "Prefix", "shop", 80))]),
            Manifests.Ingress("h2", [new HostRule("h2.test", new PathRule("/", "Prefix", "h2", 443))])));
        await Gateway.StartAsync(services => OtlpTestOptions.Shorten(services));
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        if (_h2 is not null)
        {
            await _h2.DisposeAsync();
        }

        await Receiver.DisposeAsync();
    }
}

/// <summary>Test settings for OTLP: spans leave within 50 ms, metrics every 200 ms.</summary>
internal static class OtlpTestOptions
{
    public static void Shorten(IServiceCollection services)
    {
        var options = (TelemetryOptions)services.Last(d => d.ServiceType == typeof(TelemetryOptions)).ImplementationInstance!;
        services.AddSingleton(options with { TraceExportDelay = TimeSpan.FromMilliseconds(50), MetricExportInterval = TimeSpan.FromMilliseconds(200) });
    }
}

/// <summary>SERVER and CLIENT spans, one traceparent upstream on HTTP/1.1 and HTTP/2, the trace id in the audit entry.</summary>
[Collection(OtlpTests.Name)]
public sealed partial class TracingTests(TracingGateway fixture) : IClassFixture<TracingGateway>
{
    private const string ClientTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string ClientSpanId = "00f067aa0ba902b7";

    private TestGateway Gateway => fixture.Gateway;

    [Fact]
    public async Task A_client_traceparent_is_continued_and_the_http1_backend_gets_exactly_one_from_the_client_span()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://shop.test/trace-h1");
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{ClientTraceId}-{ClientSpanId}-01");
        request.Headers.UserAgent.ParseAdd("trace-h1");
        using var response = await Gateway.Client.SendAsync(request);
        var echo = await TestGateway.ReadEchoAsync(response, "http://shop.test/trace-h1");

        // The echo backend joins repeated headers with a comma: one value means one header.
        var upstream = echo.Headers["traceparent"];
        Assert.Matches(TraceParent(), upstream);
        Assert.StartsWith($"00-{ClientTraceId}-", upstream, StringComparison.Ordinal);
        var upstreamParent = upstream.Split('-')[2];
        Assert.NotEqual(ClientSpanId, upstreamParent);

        var (server, client) = await SpansOfAsync(ClientTraceId);
        Assert.Equal(ClientSpanId, server.ParentSpanId);
        Assert.Equal($"GET {TracingGateway.ShopRoute}", server.Name);
        Assert.Equal("200", server.Attributes["http.response.status_code"]);
        Assert.Equal("/", server.Attributes["http.route"]);
        Assert.Equal("allow", server.Attributes["auditgw.decision"]);
        Assert.Equal(server.SpanId, client.ParentSpanId);
        Assert.Equal("GET", client.Name);
        Assert.Equal(client.SpanId, upstreamParent);

        var entry = await Gateway.WaitForRequestEntryAsync("trace-h1");
        Assert.Equal(ClientTraceId, (string?)entry["traceId"]);
        var tail = await AuditGateway.Tests.Audit.AuditTestKit.RunAsync("tail", "--data", Gateway.DataDirectory, "--kind", "request");
        Assert.Contains(tail.Output.Split('\n'), line => line.Contains("/trace-h1", StringComparison.Ordinal) && line.Contains($"trace={ClientTraceId}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_http2_backend_gets_exactly_one_traceparent()
    {
        const string TraceId = "5bf92f3577b34da6a3ce929d0e0e4737";
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://h2.test/trace-h2");
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{TraceId}-{ClientSpanId}-01");
        using var response = await Gateway.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {TestGateway.Reason(response)} {body}");

        Assert.Equal("HTTP/2", response.Headers.GetValues("X-Protocol").Single());
        var values = body.Split('\n');
        var upstream = Assert.Single(values);
        Assert.Matches(TraceParent(), upstream);
        var (_, client) = await SpansOfAsync(TraceId);
        Assert.Equal($"00-{TraceId}-{client.SpanId}-01", upstream);
    }

    [Fact]
    public async Task A_request_without_traceparent_starts_a_trace_whose_id_is_in_the_entry()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://shop.test/trace-root");
        request.Headers.UserAgent.ParseAdd("trace-root");
        using var response = await Gateway.Client.SendAsync(request);
        var echo = await TestGateway.ReadEchoAsync(response, "http://shop.test/trace-root");
        Assert.Matches(TraceParent(), echo.Headers["traceparent"]);
        var traceId = echo.Headers["traceparent"].Split('-')[1];

        var entry = await Gateway.WaitForRequestEntryAsync("trace-root");
        Assert.Equal(traceId, (string?)entry["traceId"]);
        var (server, _) = await SpansOfAsync(traceId);
        Assert.Equal("", server.ParentSpanId);
    }

    [Fact]
    public async Task A_request_the_gateway_answers_itself_has_a_server_span_and_no_client_span()
    {
        const string TraceId = "6bf92f3577b34da6a3ce929d0e0e4738";
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://nowhere.test/");
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{TraceId}-{ClientSpanId}-01");
        using var response = await Gateway.Client.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);

        await Eventually.TrueAsync(() => fixture.Receiver.Spans.Any(s => s.TraceId == TraceId), TestGateway.Timeout, "the 404's SERVER span");
        var span = Assert.Single(fixture.Receiver.Spans, s => s.TraceId == TraceId);
        Assert.Equal(ReceivedSpan.Server, span.Kind);
        Assert.Equal("GET", span.Name);
        Assert.Equal("404", span.Attributes["http.response.status_code"]);
        Assert.Empty(fixture.Receiver.Errors);
    }

    private async Task<(ReceivedSpan Server, ReceivedSpan Client)> SpansOfAsync(string traceId)
    {
        var spans = fixture.Receiver.Spans;
        await Eventually.TrueAsync(
            () => spans.Any(s => s.TraceId == traceId && s.Kind == ReceivedSpan.Server) && spans.Any(s => s.TraceId == traceId && s.Kind == ReceivedSpan.Client),
            TestGateway.Timeout,
            $"a SERVER and a CLIENT span of trace {traceId} at the receiver");
        Assert.Empty(fixture.Receiver.Errors);
        return (Assert.Single(spans, s => s.TraceId == traceId && s.Kind == ReceivedSpan.Server),
            Assert.Single(spans, s => s.TraceId == traceId && s.Kind == ReceivedSpan.Client));
    }

    [GeneratedRegex("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$")]
    private static partial Regex TraceParent();
}

/// <summary>The tests whose gateways export over OTLP run one class at a time: the SDK listens to every source of the process by name.</summary>
[CollectionDefinition(Name)]
public sealed class OtlpTests
{
    public const string Name = "otlp";
}
