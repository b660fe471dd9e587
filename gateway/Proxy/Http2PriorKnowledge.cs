using System.Buffers;
using System.Reflection;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AuditGateway.Proxy;

/// <summary>
/// HTTP/2 with prior knowledge (RFC 9113 §3.3, "h2c") on the plain listener, beside HTTP/1.1.
/// Kestrel (10.0) serves a cleartext endpoint that allows both as HTTP/1.1 only, since there is no
/// ALPN to choose by (dotnet/aspnetcore#56984), and answers an HTTP/2 connection preface with a
/// GOAWAY <c>HTTP_1_1_REQUIRED</c>. This connection middleware looks at the first bytes of each
/// connection without consuming them: one that starts with the 24-byte preface is served as HTTP/2,
/// any other (as soon as a byte differs) as HTTP/1.1, exactly as without it.
/// </summary>
/// <remarks>
/// Kestrel's HTTP connection middleware takes a connection's protocols from its
/// <c>HttpProtocolsFeature</c> when one is set (as its TLS middleware does per connection), else from
/// the endpoint. That feature type is internal: it is made once by reflection, and when a Kestrel
/// version lacks it the listener stays HTTP/1.1 only and <see cref="TryUse"/> says so.
/// </remarks>
internal static class Http2PriorKnowledge
{
    private static readonly (Type Type, object Http2)? s_feature = CreateFeature();

    private static ReadOnlySpan<byte> Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    /// <summary>
    /// Adds the middleware to <paramref name="listen"/> (last, so it runs just before Kestrel's HTTP
    /// handling). A client that sends nothing for <paramref name="firstBytesTimeout"/> is handed to
    /// HTTP/1.1, whose own timeouts then apply. False when this Kestrel cannot be told the protocol.
    /// </summary>
    public static bool TryUse(ListenOptions listen, TimeSpan firstBytesTimeout)
    {
        if (s_feature is not var (type, http2))
        {
            return false;
        }

        listen.Use(next => async connection =>
        {
            if (await StartsWithPrefaceAsync(connection, firstBytesTimeout))
            {
                connection.Features[type] = http2;
            }

            await next(connection);
        });
        return true;
    }

    /// <summary>Whether the connection's first bytes are the HTTP/2 preface; they stay unread either way.</summary>
    private static async ValueTask<bool> StartsWithPrefaceAsync(ConnectionContext connection, TimeSpan timeout)
    {
        var input = connection.Transport.Input;
        CancellationTokenSource? timer = null;
        try
        {
            // Usually nothing has arrived yet; when the first request is already there, no timer is made.
            var first = true;
            while (true)
            {
                if (!first || !input.TryRead(out var result))
                {
                    if (timer is null)
                    {
                        timer = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
                        timer.CancelAfter(timeout);
                    }

                    result = await input.ReadAsync(timer.Token);
                }

                first = false;

                var buffer = result.Buffer;
                var verdict = Compare(buffer);
                // Undecided: everything was examined, so the next read waits for more bytes.
                input.AdvanceTo(buffer.Start, verdict is null ? buffer.End : buffer.Start);
                if (verdict is { } decided)
                {
                    return decided;
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    return false;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        finally
        {
            timer?.Dispose();
        }
    }

    /// <summary>True: the preface; false: not it; null: a prefix of it, more bytes needed.</summary>
    private static bool? Compare(ReadOnlySequence<byte> buffer)
    {
        var preface = Preface;
        var length = (int)Math.Min(buffer.Length, preface.Length);
        Span<byte> first = stackalloc byte[preface.Length];
        buffer.Slice(0, length).CopyTo(first);
        if (!first[..length].SequenceEqual(preface[..length]))
        {
            return false;
        }

        return length == preface.Length ? true : null;
    }

    private static (Type, object)? CreateFeature()
    {
        var type = typeof(KestrelServerOptions).Assembly.GetType("Microsoft.AspNetCore.Server.Kestrel.Core.Internal.HttpProtocolsFeature");
        var constructor = type?.GetConstructor(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, [typeof(HttpProtocols)]);
        return type is null || constructor is null ? null : (type, constructor.Invoke([HttpProtocols.Http2]));
    }
}
