using System.Collections.Concurrent;
using System.Net.Sockets;

namespace AuditGateway.Kubernetes.Client;

/// <summary>
/// Opens the client's TCP connections (as <see cref="SocketsHttpHandler.ConnectCallback"/>) and can
/// close them all. A client certificate is bound to a connection at its handshake, so when an exec
/// plugin hands out a new one the pooled connections must go, as client-go's connrotation does;
/// requests in flight on them fail and are retried by their callers.
/// </summary>
internal sealed class ConnectionTracker
{
    private readonly ConcurrentDictionary<TrackedStream, byte> _open = new();

    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var stream = new TrackedStream(socket, this);
        _open.TryAdd(stream, 0);
        return stream;
    }

    public void CloseAll()
    {
        foreach (var stream in _open.Keys)
        {
            stream.Dispose();
        }
    }

    private sealed class TrackedStream(Socket socket, ConnectionTracker owner) : NetworkStream(socket, ownsSocket: true)
    {
        protected override void Dispose(bool disposing)
        {
            owner._open.TryRemove(this, out _);
            base.Dispose(disposing);
        }
    }
}
