using System.Net;
using System.Net.WebSockets;
using System.Text;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Protocols;

/// <summary>How a test's client reaches the gateway: HTTP/1.1 upgrade or HTTP/2 extended CONNECT, plain or TLS.</summary>
public enum Transport
{
    Http11,
    Http11Tls,
    Http2Tls,
    Http2PriorKnowledge,
}

/// <summary>System.Net's ClientWebSocket through the gateway, with the frames kept to the test's own (no keep-alive pings).</summary>
internal static class WebSocketClient
{
    /// <summary>Opens a WebSocket to <c>ws(s)://host/path</c> on the gateway; <paramref name="userAgent"/> finds its entry later.</summary>
    public static async Task<ClientWebSocket> ConnectAsync(TestGateway gateway, Transport transport, string host, string path, string userAgent)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("User-Agent", userAgent);
        if (transport is Transport.Http2Tls or Transport.Http2PriorKnowledge)
        {
            socket.Options.HttpVersion = HttpVersion.Version20;
            socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        var scheme = transport is Transport.Http11Tls or Transport.Http2Tls ? "wss" : "ws";
        using var timeout = new CancellationTokenSource(TestGateway.Timeout);
        try
        {
            await socket.ConnectAsync(new Uri($"{scheme}://{host}{path}"), gateway.CreateInvoker(), timeout.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public static string Protocol(Transport transport) => transport is Transport.Http2Tls or Transport.Http2PriorKnowledge ? "HTTP/2" : "HTTP/1.1";

    public static async Task SendAsync(WebSocket socket, string text)
    {
        using var timeout = new CancellationTokenSource(TestGateway.Timeout);
        await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
    }

    /// <summary>The next message's text, or the close status when the other side closed.</summary>
    public static async Task<string> ReceiveAsync(WebSocket socket)
    {
        using var timeout = new CancellationTokenSource(TestGateway.Timeout);
        var buffer = new byte[4096];
        var received = await socket.ReceiveAsync(buffer, timeout.Token);
        return received.MessageType == WebSocketMessageType.Close
            ? $"close {(int?)received.CloseStatus} {received.CloseStatusDescription}"
            : Encoding.UTF8.GetString(buffer, 0, received.Count);
    }

    /// <summary>Sends a message and returns the echo.</summary>
    public static async Task<string> EchoAsync(WebSocket socket, string text)
    {
        await SendAsync(socket, text);
        return await ReceiveAsync(socket);
    }

    public static async Task CloseAsync(WebSocket socket, WebSocketCloseStatus status, string description)
    {
        using var timeout = new CancellationTokenSource(TestGateway.Timeout);
        await socket.CloseAsync(status, description, timeout.Token);
    }

    /// <summary>Bytes of a frame with this payload on the wire: 2 header bytes, the 4-byte mask from a client.</summary>
    public static int FrameBytes(int payload, bool fromClient) => 2 + (fromClient ? 4 : 0) + payload + (payload >= 126 ? 2 : 0);
}
