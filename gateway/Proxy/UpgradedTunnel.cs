using AuditGateway.Audit.Entries;
using Microsoft.AspNetCore.Http.Features;

namespace AuditGateway.Proxy;

/// <summary>
/// The connection an upgrade request becomes once the backend accepts it (HTTP/1.1 <c>101</c>, or
/// <c>200</c> to an HTTP/2 extended CONNECT, RFC 8441): YARP copies it both ways over the stream the
/// server's upgrade feature returns. <see cref="Watch"/> puts features in front of the server's that hand
/// YARP that stream wrapped, so the bytes each way are counted and, for a WebSocket, its frames followed
/// (<see cref="WebSocketFrameReader"/>): the one entry written when the connection closes says how it closed.
/// Only upgrade requests get one; an ordinary request costs a feature lookup.
/// </summary>
internal sealed class UpgradedTunnel
{
    private const string WebSocketProtocol = "websocket";

    private readonly WebSocketFrameReader? _fromClient;
    private readonly WebSocketFrameReader? _fromBackend;
    private string? _closedBy;

    private UpgradedTunnel(bool webSocket)
    {
        if (webSocket)
        {
            _fromClient = new WebSocketFrameReader(() => Interlocked.CompareExchange(ref _closedBy, WebSocketInfo.Client, null));
            _fromBackend = new WebSocketFrameReader(() => Interlocked.CompareExchange(ref _closedBy, WebSocketInfo.Backend, null));
        }
    }

    /// <summary>The backend accepted the upgrade and the client's side was switched to the tunnel.</summary>
    public bool Opened { get; private set; }

    /// <summary>Bytes read from the client through the tunnel.</summary>
    public long BytesIn { get; private set; }

    /// <summary>Bytes written to the client through the tunnel.</summary>
    public long BytesOut { get; private set; }

    /// <summary>What the entry says of a WebSocket that was opened; null for any other request.</summary>
    public WebSocketInfo? Entry
    {
        get
        {
            if (!Opened || _fromClient is null || _fromBackend is null)
            {
                return null;
            }

            var closedBy = Volatile.Read(ref _closedBy);
            var status = closedBy switch
            {
                WebSocketInfo.Client => _fromClient.CloseStatus,
                WebSocketInfo.Backend => _fromBackend.CloseStatus,
                _ => null,
            };
            return new WebSocketInfo(status, closedBy, _fromClient.Frames, _fromBackend.Frames);
        }
    }

    /// <summary>
    /// For an upgrade request (HTTP/1.1 <c>Connection: Upgrade</c>, or an HTTP/2 extended CONNECT),
    /// the tunnel it may become, with the server's upgrade feature replaced by one that wraps its stream;
    /// null (and nothing changed) for any other request.
    /// </summary>
    public static UpgradedTunnel? Watch(HttpContext context)
    {
        var features = context.Features;
        var request = context.Request;
        if (features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade)
        {
            var tunnel = new UpgradedTunnel(string.Equals(request.Headers.Upgrade.ToString(), WebSocketProtocol, StringComparison.OrdinalIgnoreCase));
            features.Set<IHttpUpgradeFeature>(new UpgradeFeature(upgrade, tunnel));
            return tunnel;
        }

        if (HttpMethods.IsConnect(request.Method) && features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } connect)
        {
            var tunnel = new UpgradedTunnel(string.Equals(connect.Protocol, WebSocketProtocol, StringComparison.OrdinalIgnoreCase));
            features.Set<IHttpExtendedConnectFeature>(new ExtendedConnectFeature(connect, tunnel));
            return tunnel;
        }

        return null;
    }

    private Stream Open(Stream client)
    {
        Opened = true;
        return new TunnelStream(client, this);
    }

    private void Read(ReadOnlySpan<byte> bytes)
    {
        BytesIn += bytes.Length;
        _fromClient?.Feed(bytes);
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        BytesOut += bytes.Length;
        _fromBackend?.Feed(bytes);
    }

    private sealed class UpgradeFeature(IHttpUpgradeFeature inner, UpgradedTunnel tunnel) : IHttpUpgradeFeature
    {
        public bool IsUpgradableRequest => inner.IsUpgradableRequest;

        public async Task<Stream> UpgradeAsync() => tunnel.Open(await inner.UpgradeAsync());
    }

    private sealed class ExtendedConnectFeature(IHttpExtendedConnectFeature inner, UpgradedTunnel tunnel) : IHttpExtendedConnectFeature
    {
        public bool IsExtendedConnect => inner.IsExtendedConnect;

        public string? Protocol => inner.Protocol;

        public async ValueTask<Stream> AcceptAsync() => tunnel.Open(await inner.AcceptAsync());
    }

    /// <summary>The client's side of the tunnel: reads are the client's bytes, writes the backend's.</summary>
    private sealed class TunnelStream(Stream inner, UpgradedTunnel tunnel) : ObservedStream(inner, canRead: true, canWrite: true)
    {
        protected override void Received(ReadOnlySpan<byte> bytes) => tunnel.Read(bytes);

        protected override void Sending(ReadOnlySpan<byte> bytes) => tunnel.Write(bytes);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
