using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Telemetry;

/// <summary>
/// Parent-based sampling with <c>traceSampleRatio: 0</c>: a root request is not traced (no trace id in
/// its entry) yet its backend still gets exactly one <c>traceparent</c>, flagged not sampled; a caller's
/// sampled flag is followed.
/// </summary>
[Collection(OtlpTests.Name)]
public sealed class SamplingTests : IAsyncLifetime
{
    // Properties, not fields: xunit disposes them through IAsyncLifetime.
    private OtlpReceiver Receiver { get; set; } = null!;

    private TestGateway Gateway { get; set; } = null!;

    public async Task InitializeAsync()
    {
        Receiver = await OtlpReceiver.StartAsync(grpc: false);
        Gateway = new TestGateway
        {
            ConfigYaml = $"telemetry:\n  otlpEndpoint: {Receiver.Endpoint}\n  otlpProtocol: http/protobuf\n  traceSampleRatio: 0\n",
        };
        await Gateway.AddBackendsAsync("shop");
        Gateway.WriteManifest("all.yaml", Manifests.Documents(
            Gateway.ServiceFor("shop"),
            Manifests.Ingress("shop", [new HostRule("shop.test", new PathRule("/", "Prefix", "shop", 80))])));
        await Gateway.StartAsync(OtlpTestOptions.Shorten);
    }

    [Fact]
    public async Task An_unsampled_root_has_no_trace_id_and_one_unsampled_traceparent_upstream()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://shop.test/unsampled");
        request.Headers.UserAgent.ParseAdd("unsampled-root");
        using var response = await Gateway.Client.SendAsync(request);
        var echo = await TestGateway.ReadEchoAsync(response, "http://shop.test/unsampled");
        // One header (the echo backend would join two with a comma), carrying "not sampled".
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-00$", echo.Headers["traceparent"]);

        var entry = await Gateway.WaitForRequestEntryAsync("unsampled-root");
        Assert.False(entry.ContainsKey("traceId"));
    }

    [Fact]
    public async Task A_sampled_caller_is_traced_whatever_the_ratio()
    {
        const string TraceId = "7bf92f3577b34da6a3ce929d0e0e4739";
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://shop.test/sampled-parent");
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{TraceId}-00f067aa0ba902b7-01");
        request.Headers.UserAgent.ParseAdd("sampled-parent");
        using var response = await Gateway.Client.SendAsync(request);
        var echo = await TestGateway.ReadEchoAsync(response, "http://shop.test/sampled-parent");
        Assert.StartsWith($"00-{TraceId}-", echo.Headers["traceparent"], StringComparison.Ordinal);

        var entry = await Gateway.WaitForRequestEntryAsync("sampled-parent");
        Assert.Equal(TraceId, (string?)entry["traceId"]);
        await Eventually.TrueAsync(() => Receiver.Spans.Any(s => s.TraceId == TraceId && s.Kind == ReceivedSpan.Server), TestGateway.Timeout, "the SERVER span");
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Receiver.DisposeAsync();
    }
}
