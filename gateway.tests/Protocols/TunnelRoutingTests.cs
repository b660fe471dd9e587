using System.Net;
using System.Net.WebSockets;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Protocols;

/// <summary>
/// A long-lived WebSocket holds neither the route table nor the audit writer: a routing change during
/// it applies to new requests only, other requests' entries keep being written, and the WebSocket keeps
/// its backend; its one entry names the revision and route in force when it was opened.
/// </summary>
public sealed class TunnelRoutingTests
{
    [Theory]
    [InlineData(Transport.Http11)]
    [InlineData(Transport.Http2PriorKnowledge)]
    public async Task A_route_change_during_a_WebSocket_applies_to_new_requests_only(Transport transport)
    {
        await using var blue = await WebSocketBackend.StartAsync("blue");
        await using var green = await WebSocketBackend.StartAsync("green");
        await using var gateway = await TestGateway.StartAsync([], g =>
        {
            g.WriteManifest("services.yaml", Manifests.Documents(Manifests.Backend("blue", blue.Port), Manifests.Backend("green", green.Port)));
            g.WriteManifest("live.yaml", Live("blue"));
        });
        var before = gateway.Table.Revision;

        using var first = await WebSocketClient.ConnectAsync(gateway, transport, "live.test", "/chat", "ws-first");
        Assert.Equal("blue: one", await WebSocketClient.EchoAsync(first, "one"));

        gateway.WriteManifest("live.yaml", Live("green"));
        var after = (await gateway.WaitForAsync(t => t.Revision != before)).Revision;

        // New requests see the new table, and their entries are written while the first WebSocket is open.
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("http://live.test/chat"));
        request.Headers.UserAgent.ParseAdd("plain-after-change");
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("green", response.Headers.GetValues("X-Backend").Single());
        var plain = await gateway.WaitForRequestEntryAsync("plain-after-change");
        Assert.Equal(after, (string?)plain["revision"]);

        using var second = await WebSocketClient.ConnectAsync(gateway, transport, "live.test", "/chat", "ws-second");
        Assert.Equal("green: two", await WebSocketClient.EchoAsync(second, "two"));
        await WebSocketClient.CloseAsync(second, WebSocketCloseStatus.NormalClosure, "");
        var secondEntry = await gateway.WaitForRequestEntryAsync("ws-second");
        Assert.Equal(after, (string?)secondEntry["revision"]);
        Assert.Equal($"127.0.0.1:{green.Port}", (string?)secondEntry["route"]?["destination"]);

        // The first WebSocket still talks to the backend it started with, and is not in the log yet.
        Assert.Equal("blue: three", await WebSocketClient.EchoAsync(first, "three"));
        Assert.DoesNotContain(gateway.AuditNodes(), e => (string?)e["request"]?["userAgent"] == "ws-first");
        await WebSocketClient.CloseAsync(first, WebSocketCloseStatus.NormalClosure, "");

        var firstEntry = await gateway.WaitForRequestEntryAsync("ws-first");
        Assert.Equal(before, (string?)firstEntry["revision"]);
        Assert.Equal("default/live:live.test/chat:Prefix", (string?)firstEntry["route"]?["id"]);
        Assert.Equal("blue", (string?)firstEntry["route"]?["service"]);
        Assert.Equal($"127.0.0.1:{blue.Port}", (string?)firstEntry["route"]?["destination"]);
        Assert.Equal(3, (int)firstEntry["websocket"]!["framesIn"]!);
        Assert.Equal(["/chat", "/chat"], [.. blue.Accepted, .. green.Accepted]);
        Assert.Single(blue.Accepted);
    }

    private static string Live(string service) =>
        Manifests.Ingress("live", [new HostRule("live.test", new PathRule("/chat", "Prefix", service, 80))]);
}
