using System.Net.WebSockets;
using AuditGateway.Tests.Common;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AuditGateway.Tests.Protocols;

/// <summary>
/// Kestrel does not apply its request body limits to a tunnel (the gateway relies on it and lifts none):
/// with a 1 KiB body limit and the minimum data rate's grace cut to 1.5 s, a WebSocket carries more than
/// that and, silent for longer than the grace, still works afterwards.
/// </summary>
public sealed class TunnelLimitTests
{
    [Theory]
    [InlineData(Transport.Http11)]
    [InlineData(Transport.Http2Tls)]
    [InlineData(Transport.Http2PriorKnowledge)]
    public async Task A_silent_WebSocket_outlives_the_minimum_data_rate(Transport transport)
    {
        await using var backend = await WebSocketBackend.StartAsync("quiet");
        await using var gateway = new TestGateway();
        gateway.WriteManifest("quiet.yaml", Manifests.Documents(
            Manifests.Backend("quiet", backend.Port),
            Manifests.Ingress("quiet", [new HostRule("quiet.test", new PathRule("/", "Prefix", "quiet", 80))])));
        await gateway.StartAsync(services => services.Configure<KestrelServerOptions>(k =>
            {
            k.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(1.5));
            k.Limits.MaxRequestBodySize = 1024;
        }));

        // The limits are in force: an ordinary request with a larger body is refused.
        using (var post = await gateway.Client.PostAsync(new Uri("http://quiet.test/upload"), new StringContent(new string('x', 3000))))
        {
            Assert.Equal(System.Net.HttpStatusCode.RequestEntityTooLarge, post.StatusCode);
        }

        using var socket = await WebSocketClient.ConnectAsync(gateway, transport, "quiet.test", "/", "ws-quiet");
        Assert.Equal("quiet: before", await WebSocketClient.EchoAsync(socket, "before"));
        var big = new string('x', 3000);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("quiet: " + big, await WebSocketClient.EchoAsync(socket, big));
        }

        // Silence is what is tested: three heartbeats of Kestrel's (1 s each) past the grace period.
        await Task.Delay(TimeSpan.FromSeconds(3.5));

        Assert.Equal("quiet: after", await WebSocketClient.EchoAsync(socket, "after"));
        await WebSocketClient.CloseAsync(socket, WebSocketCloseStatus.NormalClosure, "");
        var entry = await gateway.WaitForRequestEntryAsync("ws-quiet");
        Assert.Equal("client", (string?)entry["websocket"]?["closedBy"]);
    }
}
