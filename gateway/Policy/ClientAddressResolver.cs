using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Primitives;

namespace AuditGateway.Policy;

/// <summary>
/// The client of a request as far as it can be trusted. <see cref="Port"/> is 0 when the client
/// came from a forwarding header that did not carry a port. <see cref="Chain"/> lists the hops
/// the request is known to have taken, client first and the connection peer last; it is empty
/// when the client is the connection peer itself.
/// </summary>
internal sealed record ClientAddress(IPAddress Ip, int Port, IReadOnlyList<string> Chain)
{
    /// <summary><see cref="Ip"/> as text, made once for the entry, the forwarding headers and the rules' reasons.</summary>
    public string IpText { get; } = Ip.ToString();
}

/// <summary>
/// Finds the client address from the connection peer and the <c>Forwarded</c> (RFC 7239) or
/// <c>X-Forwarded-For</c> header, believing them only as far as <c>identity.trustedProxies</c> allows.
/// </summary>
/// <remarks>
/// The rule:
/// <list type="number">
/// <item>If the peer is not a trusted proxy, the headers are ignored and the peer is the client.</item>
/// <item>Otherwise <c>Forwarded</c> is used if present, else <c>X-Forwarded-For</c> (several header
/// lines are read as one list, in order).</item>
/// <item>The list is walked right to left (nearest hop first). A trusted address is a proxy: keep
/// walking. The first untrusted address is the client; entries to its left were written by the
/// client or hops we cannot vouch for and are ignored.</item>
/// <item>A malformed entry (not an IP, <c>unknown</c>, an obfuscated identifier, a Forwarded element
/// without <c>for=</c>) stops the walk, and the client is the last trusted hop reached, which may
/// be the peer itself. The same happens after <see cref="MaxHops"/> entries or when every entry is
/// trusted (then the leftmost entry is the client).</item>
/// </list>
/// </remarks>
internal sealed class ClientAddressResolver(IpRangeSet trustedProxies)
{
    /// <summary>The most header entries examined per request.</summary>
    public const int MaxHops = 32;

    public IpRangeSet TrustedProxies { get; } = trustedProxies;

    public ClientAddress Resolve(IPAddress peerIp, int peerPort, IHeaderDictionary headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return Resolve(peerIp, peerPort, headers["Forwarded"], headers["X-Forwarded-For"]);
    }

    public ClientAddress Resolve(IPAddress peerIp, int peerPort, StringValues forwarded, StringValues xForwardedFor)
    {
        var peer = IpAddresses.Normalize(peerIp);
        var useForwarded = !StringValues.IsNullOrEmpty(forwarded);
        if ((!useForwarded && StringValues.IsNullOrEmpty(xForwardedFor)) || TrustedProxies.IsEmpty || !TrustedProxies.Contains(peer))
        {
            return new ClientAddress(peer, peerPort, []);
        }

        var header = useForwarded ? forwarded : xForwardedFor;
        var text = header.Count == 1 ? header[0]! : string.Join(",", header.ToArray());
        var elements = SplitOutsideQuotes(text, ',');

        // Hops believed so far, nearest first; the peer is the first trusted hop.
        var hops = new List<(IPAddress Ip, int Port)> { (peer, peerPort) };
        for (var i = elements.Count - 1; i >= 0 && hops.Count <= MaxHops; i--)
        {
            var entry = text.AsSpan(elements[i]).Trim();
            IPAddress? ip;
            int port;
            if (useForwarded ? !TryParseForwardedElement(entry, out ip, out port) : !TryParseNode(entry, out ip, out port))
            {
                break;
            }

            hops.Add((ip, port));
            if (!TrustedProxies.Contains(ip))
            {
                break;
            }
        }

        if (hops.Count == 1)
        {
            return new ClientAddress(peer, peerPort, []);
        }

        var chain = new string[hops.Count];
        for (var i = 0; i < hops.Count; i++)
        {
            chain[hops.Count - 1 - i] = hops[i].Ip.ToString();
        }

        var client = hops[^1];
        return new ClientAddress(client.Ip, client.Port, chain);
    }

    /// <summary>One RFC 7239 element, e.g. <c>for="[2001:db8::1]:4711";proto=https</c>: its <c>for</c> node.</summary>
    internal static bool TryParseForwardedElement(ReadOnlySpan<char> element, [NotNullWhen(true)] out IPAddress? ip, out int port)
    {
        ip = null;
        port = 0;
        var found = false;
        var text = element.ToString();
        foreach (var pair in SplitOutsideQuotes(text, ';'))
        {
            var part = text.AsSpan(pair).Trim();
            var equals = part.IndexOf('=');
            if (equals <= 0)
            {
                return false;
            }

            if (!part[..equals].Trim().Equals("for", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var value = part[(equals + 1)..].Trim();
            if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
            {
                value = value[1..^1];
            }

            if (found || !TryParseNode(value, out ip, out port))
            {
                return false;
            }

            found = true;
        }

        return found;
    }

    /// <summary>
    /// A node: <c>192.0.2.1</c>, <c>192.0.2.1:8080</c>, <c>[2001:db8::1]</c>, <c>[2001:db8::1]:4711</c>,
    /// or a bare IPv6 address (common in X-Forwarded-For). An obfuscated port (<c>_abc</c>) reads as 0.
    /// </summary>
    internal static bool TryParseNode(ReadOnlySpan<char> node, [NotNullWhen(true)] out IPAddress? ip, out int port)
    {
        ip = null;
        port = 0;
        ReadOnlySpan<char> host;
        ReadOnlySpan<char> portText = default;
        var hasPort = false;
        if (node.StartsWith('['))
        {
            var close = node.IndexOf(']');
            if (close < 0)
            {
                return false;
            }

            host = node[1..close];
            var rest = node[(close + 1)..];
            if (!rest.IsEmpty)
            {
                if (rest[0] != ':')
                {
                    return false;
                }

                portText = rest[1..];
                hasPort = true;
            }

            if (host.IndexOf(':') < 0)
            {
                return false;
            }
        }
        else if (node.Count(':') == 1)
        {
            var colon = node.IndexOf(':');
            host = node[..colon];
            portText = node[(colon + 1)..];
            hasPort = true;
        }
        else
        {
            host = node;
        }

        if (!TryParseStrictIp(host, out ip))
        {
            return false;
        }

        if (hasPort)
        {
            if (portText.StartsWith('_') && portText.Length > 1)
            {
                port = 0;
            }
            else if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                ip = null;
                return false;
            }
        }

        ip = IpAddresses.Normalize(ip);
        return true;
    }

    /// <summary>
    /// Dotted-quad IPv4 or IPv6 only: <see cref="IPAddress.TryParse(ReadOnlySpan{char}, out IPAddress)"/>
    /// alone also accepts <c>1</c>, <c>0x7f.1</c> and similar, which no proxy writes.
    /// </summary>
    private static bool TryParseStrictIp(ReadOnlySpan<char> text, [NotNullWhen(true)] out IPAddress? ip)
    {
        ip = null;
        if (text.IsEmpty || text.Length > 45)
        {
            return false;
        }

        if (text.IndexOf(':') < 0)
        {
            if (text.Count('.') != 3)
            {
                return false;
            }

            foreach (var c in text)
            {
                if (c is not ('.' or (>= '0' and <= '9')))
                {
                    return false;
                }
            }
        }
        else if (text.IndexOf('%') >= 0)
        {
            // A zone id names an interface of the sender; it means nothing here.
            return false;
        }

        return IPAddress.TryParse(text, out ip);
    }

    private static List<Range> SplitOutsideQuotes(string text, char separator)
    {
        var parts = new List<Range>();
        var start = 0;
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\\' && quoted)
            {
                i++;
            }
            else if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == separator && !quoted)
            {
                parts.Add(start..i);
                start = i + 1;
            }
        }

        parts.Add(start..text.Length);
        return parts;
    }
}
