using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Protocols;

/// <summary>One gateway in front of a WebSocket backend: <c>ws.test/chat</c> open to all, <c>ws.test/private</c> only for 10.0.0.0/8.</summary>
public sealed class WebSocketGateway : IAsyncLifetime
{
    private WebSocketBackend? _backend;
    private TestGateway? _gateway;

    internal WebSocketBackend Backend => _backend ?? throw new InvalidOperationException("not started");

    internal TestGateway Gateway => _gateway ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        _backend = await WebSocketBackend.StartAsync("chat");
        _gateway = await TestGateway.StartAsync(["echo"], g => g.WriteManifest("ws.yaml", Manifests.Documents(
            Manifests.Backend("chat", _backend.Port),
            g.ServiceFor("echo"),
            Manifests.Ingress("chat", [new HostRule("ws.test", new PathRule("/chat", "Prefix", "chat", 80))]),
            Manifests.Ingress("echo", [new HostRule("echo.test", new PathRule("/", "Prefix", "echo", 80))]),
            Manifests.Ingress(
                "private",
                [new HostRule("ws.test", new PathRule("/private", "Prefix", "chat", 80))],
                annotations: new Dictionary<string, string> { ["auditgateway.io/allow-source-range"] = "10.0.0.0/8" }))));
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }
    }
}

/// <summary>
/// WebSockets through the gateway with a real client and server, over an HTTP/1.1 upgrade and an
/// HTTP/2 extended CONNECT (RFC 8441), plain and TLS: proxied both ways, policy applied at the upgrade,
/// and audited as one entry when the connection closes.
/// </summary>
public sealed class WebSocketTests(WebSocketGateway fixture) : IClassFixture<WebSocketGateway>
{
    private TestGateway Gateway => fixture.Gateway;

    [Theory]
    [InlineData(Transport.Http11)]
    [InlineData(Transport.Http11Tls)]
    [InlineData(Transport.Http2Tls)]
    [InlineData(Transport.Http2PriorKnowledge)]
    public async Task A_WebSocket_is_proxied_and_audited_as_one_entry_when_it_closes(Transport transport)
    {
        var agent = $"ws-client-{transport}";
        using var socket = await WebSocketClient.ConnectAsync(Gateway, transport, "ws.test", "/chat/room", agent);
        var opened = Stopwatch.GetTimestamp();
        Assert.Equal(transport is Transport.Http2Tls or Transport.Http2PriorKnowledge ? HttpStatusCode.OK : HttpStatusCode.SwitchingProtocols, socket.HttpStatusCode);

        Assert.Equal("chat: hello", await WebSocketClient.EchoAsync(socket, "hello"));
        Assert.Equal("chat: again", await WebSocketClient.EchoAsync(socket, "again"));

        // While the connection is open its entry is not written, and other requests' entries are.
        await AssertOtherEntriesFlowWhileOpenAsync(agent);

        // The gateway's clock starts before the upgrade's answer reached this client and stops after the
        // client's Close reached the gateway: at least the time from the one to the sending of the other.
        var open = Stopwatch.GetElapsedTime(opened);
        await WebSocketClient.CloseAsync(socket, WebSocketCloseStatus.NormalClosure, "done");
        Assert.Equal(WebSocketState.Closed, socket.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);

        var entry = await Gateway.WaitForRequestEntryAsync(agent);
        Assert.Single(Gateway.AuditNodes(), e => (string?)e["request"]?["userAgent"] == agent);
        Assert.Equal(transport is Transport.Http2Tls or Transport.Http2PriorKnowledge ? "CONNECT" : "GET", (string?)entry["method"]);
        Assert.Equal(WebSocketClient.Protocol(transport), (string?)entry["protocol"]);
        Assert.Equal(transport is Transport.Http2Tls or Transport.Http2PriorKnowledge ? 200 : 101, (int)entry["status"]!);
        Assert.Equal("/chat/room", (string?)entry["path"]);
        Assert.Equal("default/chat:ws.test/chat:Prefix", (string?)entry["route"]?["id"]);
        Assert.Equal($"127.0.0.1:{fixture.Backend.Port}", (string?)entry["route"]?["destination"]);
        Assert.Equal("allow", (string?)entry["decision"]?["decision"]);
        Assert.Equal(transport is Transport.Http11Tls or Transport.Http2Tls, entry["tls"] is JsonObject);
        Assert.Null((string?)entry["upstreamError"]);

        // Two messages and a Close each way; client frames are masked.
        var expected = new JsonObject { ["closeStatus"] = 1000, ["closedBy"] = "client", ["framesIn"] = 3, ["framesOut"] = 3 };
        Assert.Equal(expected.ToJsonString(), entry["websocket"]?.ToJsonString());
        var closePayload = 2 + "done".Length;
        Assert.Equal(
            WebSocketClient.FrameBytes("hello".Length, true) + WebSocketClient.FrameBytes("again".Length, true) + WebSocketClient.FrameBytes(closePayload, true),
            (long)entry["bytesIn"]!);
        Assert.Equal(
            WebSocketClient.FrameBytes("chat: hello".Length, false) + WebSocketClient.FrameBytes("chat: again".Length, false) + WebSocketClient.FrameBytes(closePayload, false),
            (long)entry["bytesOut"]!);

        // The latency is the connection's whole life, not the upgrade's.
        Assert.True((long)entry["latencyUs"]! >= (long)open.TotalMicroseconds, $"latencyUs {entry["latencyUs"]} < {open.TotalMicroseconds:0} µs open");
        Assert.True((long)entry["upstreamLatencyUs"]! >= (long)open.TotalMicroseconds);
    }

    [Theory]
    [InlineData(Transport.Http11)]
    [InlineData(Transport.Http2Tls)]
    public async Task A_backend_that_closes_first_is_named_with_its_status(Transport transport)
    {
        var agent = $"ws-backend-closes-{transport}";
        using var socket = await WebSocketClient.ConnectAsync(Gateway, transport, "ws.test", "/chat", agent);
        await WebSocketClient.SendAsync(socket, "bye");
        Assert.Equal($"close {WebSocketBackend.BackendCloseStatus} backend says bye", await WebSocketClient.ReceiveAsync(socket));
        await WebSocketClient.CloseAsync(socket, (WebSocketCloseStatus)WebSocketBackend.BackendCloseStatus, "");

        var entry = await Gateway.WaitForRequestEntryAsync(agent);
        Assert.Equal(
            new JsonObject { ["closeStatus"] = WebSocketBackend.BackendCloseStatus, ["closedBy"] = "backend", ["framesIn"] = 2, ["framesOut"] = 1 }.ToJsonString(),
            entry["websocket"]?.ToJsonString());
    }

    [Theory]
    [InlineData(Transport.Http11)]
    [InlineData(Transport.Http2PriorKnowledge)]
    public async Task A_connection_cut_without_a_close_frame_says_so(Transport transport)
    {
        var agent = $"ws-aborted-{transport}";
        var socket = await WebSocketClient.ConnectAsync(Gateway, transport, "ws.test", "/chat", agent);
        Assert.Equal("chat: one", await WebSocketClient.EchoAsync(socket, "one"));
        socket.Abort();
        socket.Dispose();

        var entry = await Gateway.WaitForRequestEntryAsync(agent);
        Assert.Equal(
            new JsonObject { ["closeStatus"] = null, ["closedBy"] = null, ["framesIn"] = 1, ["framesOut"] = 1 }.ToJsonString(),
            entry["websocket"]?.ToJsonString());
        Assert.NotNull((string?)entry["upstreamError"]);
    }

    [Theory]
    [InlineData(Transport.Http11)]
    [InlineData(Transport.Http2Tls)]
    [InlineData(Transport.Http2PriorKnowledge)]
    public async Task A_denied_client_never_gets_the_tunnel_and_the_denial_is_audited(Transport transport)
    {
        var agent = $"ws-denied-{transport}";
        var accepted = fixture.Backend.Accepted.Count;
        var failure = await Assert.ThrowsAsync<WebSocketException>(async () =>
            (await WebSocketClient.ConnectAsync(Gateway, transport, "ws.test", "/private", agent)).Dispose());

        var entry = await Gateway.WaitForRequestEntryAsync(agent);
        Assert.Equal(403, (int)entry["status"]!);
        Assert.Equal("deny", (string?)entry["decision"]?["decision"]);
        Assert.Equal("default/private:allow-source-range", (string?)entry["decision"]?["rule"]);
        Assert.Equal(WebSocketClient.Protocol(transport), (string?)entry["protocol"]);
        Assert.False(entry.ContainsKey("websocket"), entry.ToJsonString());
        Assert.Null((string?)entry["route"]?["destination"]);
        Assert.Equal(accepted, fixture.Backend.Accepted.Count);
        Assert.Contains("403", failure.Message, StringComparison.Ordinal);
    }

    /// <summary>Sends an ordinary request and waits for its entry; the WebSocket's entry must not be there yet.</summary>
    private async Task AssertOtherEntriesFlowWhileOpenAsync(string webSocketAgent)
    {
        var marker = webSocketAgent + "-marker";
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("http://echo.test/while-open"));
        request.Headers.UserAgent.ParseAdd(marker);
        using var response = await Gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Gateway.WaitForRequestEntryAsync(marker);
        Assert.DoesNotContain(Gateway.AuditNodes(), e => (string?)e["request"]?["userAgent"] == webSocketAgent);
    }
}
