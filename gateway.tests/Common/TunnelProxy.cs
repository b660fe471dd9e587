using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AuditGateway.Tests.Common;

/// <summary>
/// A tiny forward proxy on 127.0.0.1:0 for tests: HTTP <c>CONNECT</c> (optionally demanding Basic
/// credentials) and SOCKS5 (no authentication), to loopback targets only. It counts the tunnels
/// it opened, so a test can tell that a client really went through it.
/// </summary>
internal sealed class TunnelProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly string? _credential;
    private readonly Task _accepting;
    private int _tunnels;

    /// <param name="credential"><c>user:password</c> an HTTP client must send (after a 407), or null for none.</param>
    public TunnelProxy(string? credential = null)
    {
        _credential = credential is null ? null : Convert.ToBase64String(Encoding.UTF8.GetBytes(credential));
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>Tunnels opened so far (CONNECT or SOCKS5 requests that reached their target).</summary>
    public int Tunnels => Volatile.Read(ref _tunnels);

    private async Task AcceptAsync()
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stopping.Token);
                connections.Add(ServeAsync(client));
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        await Task.WhenAll(connections);
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var first = new byte[1];
                await stream.ReadExactlyAsync(first, _stopping.Token);
                var target = first[0] == 5 ? await Socks5Async(stream) : await ConnectAsync(stream, (char)first[0]);
                if (target is null)
                {
                    return;
                }

                Interlocked.Increment(ref _tunnels);
                var upstream = target.GetStream();
                Task[] copies = [stream.CopyToAsync(upstream, _stopping.Token), upstream.CopyToAsync(stream, _stopping.Token)];
                await Task.WhenAny(copies);
                // One side is done: closing both ends the other copy.
                target.Dispose();
                client.Dispose();
                await Task.WhenAll(copies).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or EndOfStreamException)
            {
                // A side hung up, or the proxy is stopping.
            }
        }
    }

    /// <summary>Reads <c>CONNECT host:port HTTP/1.1</c> and its headers (after the first character, already read).</summary>
    private async Task<TcpClient?> ConnectAsync(NetworkStream stream, char first)
    {
        var head = new StringBuilder().Append(first);
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            await stream.ReadExactlyAsync(one, _stopping.Token);
            head.Append((char)one[0]);
        }

        var lines = head.ToString().Split("\r\n");
        var parts = lines[0].Split(' ');
        if (parts is not ["CONNECT", var authority, _] || !IPEndPoint.TryParse(authority, out var endpoint) || !IPAddress.IsLoopback(endpoint.Address))
        {
            await ReplyAsync(stream, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return null;
        }

        if (_credential is not null && !lines.Any(l => l.Equals("Proxy-Authorization: Basic " + _credential, StringComparison.OrdinalIgnoreCase)))
        {
            await ReplyAsync(stream, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return null;
        }

        var target = new TcpClient();
        await target.ConnectAsync(endpoint, _stopping.Token);
        await ReplyAsync(stream, "HTTP/1.1 200 Connection established\r\n\r\n");
        return target;
    }

    /// <summary>RFC 1928 with method 0 (no authentication) and the CONNECT command, after the version byte.</summary>
    private async Task<TcpClient?> Socks5Async(NetworkStream stream)
    {
        var ct = _stopping.Token;
        var count = new byte[1];
        await stream.ReadExactlyAsync(count, ct);
        await stream.ReadExactlyAsync(new byte[count[0]], ct);
        await stream.WriteAsync(new byte[] { 5, 0 }, ct);
        var request = new byte[4];
        await stream.ReadExactlyAsync(request, ct);
        IPAddress? address = null;
        if (request[3] is 1 or 4)
        {
            var bytes = new byte[request[3] == 1 ? 4 : 16];
            await stream.ReadExactlyAsync(bytes, ct);
            address = new IPAddress(bytes);
        }
        else if (request[3] == 3)
        {
            await stream.ReadExactlyAsync(count, ct);
            var name = new byte[count[0]];
            await stream.ReadExactlyAsync(name, ct);
            address = Encoding.ASCII.GetString(name) == "localhost" ? IPAddress.Loopback : null;
        }

        var port = new byte[2];
        await stream.ReadExactlyAsync(port, ct);
        if (request[1] != 1 || address is null || !IPAddress.IsLoopback(address))
        {
            await stream.WriteAsync(new byte[] { 5, 2, 0, 1, 0, 0, 0, 0, 0, 0 }, ct); // Not allowed by ruleset.
            return null;
        }

        var target = new TcpClient();
        await target.ConnectAsync(new IPEndPoint(address, BinaryPrimitives.ReadUInt16BigEndian(port)), ct);
        await stream.WriteAsync(new byte[] { 5, 0, 0, 1, 0, 0, 0, 0, 0, 0 }, ct);
        return target;
    }

    private Task ReplyAsync(NetworkStream stream, string text) => stream.WriteAsync(Encoding.ASCII.GetBytes(text), _stopping.Token).AsTask();

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stopping.Dispose();
    }
}
