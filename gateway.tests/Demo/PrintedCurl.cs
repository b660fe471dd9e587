using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;

namespace AuditGateway.Tests.Demo;

/// <summary>
/// A <c>curl</c> line as the demo prints it, read the way a shell and curl would (quotes,
/// <c>$(cat FILE)</c> relative to the directory it was typed in, <c>-i -k -X -H --interface --resolve</c>),
/// and sent with <see cref="HttpClient"/>. An option it does not know fails the test: the banner
/// must not print what this cannot check.
/// </summary>
internal sealed partial record PrintedCurl(
    string Line,
    HttpMethod Method,
    Uri Url,
    IReadOnlyList<(string Name, string Value)> Headers,
    IPAddress? Interface,
    IPEndPoint? Resolve,
    string Comment)
{
    /// <summary>The status the comment announces (<c># 401: no JWT</c>), or null.</summary>
    public int? AnnouncedStatus => StatusComment().Match(Comment) is { Success: true } m ? int.Parse(m.Value, System.Globalization.CultureInfo.InvariantCulture) : null;

    public static PrintedCurl Parse(string line, string directory)
    {
        var (words, comment) = Words(line, directory);
        Assert.True(words is ["curl", ..], $"not a curl line: {line}");
        var method = HttpMethod.Get;
        var headers = new List<(string, string)>();
        IPAddress? local = null;
        IPEndPoint? resolve = null;
        Uri? url = null;
        for (var i = 1; i < words.Count; i++)
        {
            switch (words[i])
            {
                case "-i" or "-k" or "-s":
                    break;
                case "-X":
                    method = new HttpMethod(words[++i]);
                    break;
                case "-H":
                    var header = words[++i];
                    var colon = header.IndexOf(':', StringComparison.Ordinal);
                    headers.Add((header[..colon], header[(colon + 1)..].Trim()));
                    break;
                case "--interface":
                    local = IPAddress.Parse(words[++i]);
                    break;
                case "--resolve":
                    var parts = words[++i].Split(':');
                    resolve = new IPEndPoint(IPAddress.Parse(parts[2]), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
                    break;
                case var word when !word.StartsWith('-') && url is null:
                    url = new Uri(word);
                    break;
                case var word:
                    Assert.Fail($"the test cannot follow '{word}' in: {line}");
                    break;
            }
        }

        Assert.True(url is not null, $"no URL in: {line}");
        return new PrintedCurl(line, method, url, headers, local, resolve, comment);
    }

    /// <summary>Sends the request as curl would: no redirects followed, no proxy.</summary>
    public async Task<HttpResponseMessage> SendAsync()
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            // -k: no chain to trust (the demo's certificate is self-signed), but it must be the host's.
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is X509Certificate2 c && c.MatchesHostname(Url.Host) },
            ConnectCallback = ConnectAsync,
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(Method, Url);
        foreach (var (name, value) in Headers)
        {
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.Host = value;
            }
            else
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }

        var response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = Interface is null ? new Socket(SocketType.Stream, ProtocolType.Tcp) : new Socket(Interface.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (Interface is not null)
            {
                socket.Bind(new IPEndPoint(Interface, 0));
            }

            EndPoint target = Resolve is not null && Resolve.Port == context.DnsEndPoint.Port ? Resolve : context.DnsEndPoint;
            await socket.ConnectAsync(target, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Shell words up to an unquoted <c>#</c> (the rest is the comment); <c>$(cat FILE)</c> in double quotes is the file's text.</summary>
    private static (List<string> Words, string Comment) Words(string line, string directory)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c is '\'' or '"')
            {
                var end = line.IndexOf(c, i + 1);
                var quoted = line[(i + 1)..end];
                word.Append(c == '"' ? CatFile().Replace(quoted, m => File.ReadAllText(Path.Combine(directory, m.Groups[1].Value)).Trim()) : quoted);
                i = end;
                inWord = true;
            }
            else if (c == ' ' && inWord)
            {
                words.Add(word.ToString());
                word.Clear();
                inWord = false;
            }
            else if (c == '#' && !inWord)
            {
                return (words, line[(i + 1)..].Trim());
            }
            else if (c != ' ')
            {
                word.Append(c);
                inWord = true;
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return (words, "");
    }

    [GeneratedRegex(@"\$\(cat ([^)]+)\)")]
    private static partial Regex CatFile();

    [GeneratedRegex(@"^\d{3}\b")]
    private static partial Regex StatusComment();
}
