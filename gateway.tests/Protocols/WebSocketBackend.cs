using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using AuditGateway.Demo;

namespace AuditGateway.Tests.Protocols;

/// <summary>
/// A WebSocket server on loopback (Kestrel, <c>UseWebSockets</c>, no keep-alive pings so the frames are
/// only the test's). It echoes each text message as <c>"&lt;name&gt;: &lt;text&gt;"</c>, answers a client's
/// Close with the same status and description, and on the message <c>"bye"</c> closes itself with
/// <see cref="BackendCloseStatus"/>. A request that is not a WebSocket gets <c>200</c> with the name in
/// <c>X-Backend</c>.
/// </summary>
internal sealed class WebSocketBackend : IAsyncDisposable
{
    public const int BackendCloseStatus = 4000;

    private readonly ConcurrentQueue<string> _accepted = new();
    private LoopbackServer? _server;

    private WebSocketBackend(string name) => Name = name;

    public string Name { get; }

    public int Port => _server!.Port;

    /// <summary>The path of every WebSocket this backend accepted, in order.</summary>
    public IReadOnlyList<string> Accepted => [.. _accepted];

    public static async Task<WebSocketBackend> StartAsync(string name)
    {
        var backend = new WebSocketBackend(name);
        backend._server = await LoopbackServer.StartAsync(app =>
        {
            app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
            app.Run(backend.ServeAsync);
        });
        return backend;
    }

    private async Task ServeAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.Headers["X-Backend"] = Name;
            await context.Response.WriteAsync(Name);
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        _accepted.Enqueue(context.Request.Path.Value ?? "");
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseOutputAsync(received.CloseStatus ?? WebSocketCloseStatus.Empty, received.CloseStatusDescription, CancellationToken.None);
                return;
            }

            var text = Encoding.UTF8.GetString(buffer, 0, received.Count);
            if (text == "bye")
            {
                await socket.CloseAsync((WebSocketCloseStatus)BackendCloseStatus, "backend says bye", CancellationToken.None);
                return;
            }

            await socket.SendAsync(Encoding.UTF8.GetBytes($"{Name}: {text}"), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
