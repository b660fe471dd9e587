using System.Net;
using System.Net.Sockets;
using System.Text;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Protocols;

public sealed class Http2Gateway : SharedGateway
{
    private protected override string[] Backends => ["echo"];

    private protected override void WriteManifests(TestGateway gateway) => gateway.WriteManifest("echo.yaml", Manifests.Documents(
        gateway.ServiceFor("echo"),
        Manifests.Ingress("echo", [new HostRule("h2.test", new PathRule("/", "Prefix", "echo", 80))])));
}

/// <summary>
/// HTTP/2 from clients: by ALPN on the TLS listener, and with prior knowledge (h2c) on the plain listener,
/// which keeps serving HTTP/1.1 as before; the entry's <c>protocol</c> says which.
/// </summary>
public sealed class Http2Tests(Http2Gateway fixture) : IClassFixture<Http2Gateway>
{
    private TestGateway Gateway => fixture.Gateway;

    [Theory]
    [InlineData("http", 2)]
    [InlineData("https", 2)]
    [InlineData("http", 1)]
    [InlineData("https", 1)]
    public async Task Each_listener_serves_the_version_the_client_asks_for_and_the_entry_names_it(string scheme, int major)
    {
        var client = Gateway.CreateClient();
        var agent = $"h{major}-{scheme}";
        for (var i = 0; i < 3; i++)
        {
            using var request = new HttpRequestMessage(i == 1 ? HttpMethod.Post : HttpMethod.Get, new Uri($"{scheme}://h2.test/v{major}/{i}"))
            {
                Version = major == 2 ? HttpVersion.Version20 : HttpVersion.Version11,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            request.Headers.UserAgent.ParseAdd(agent + "-" + i);
            if (i == 1)
            {
                request.Content = new StringContent("a body", Encoding.UTF8);
            }

            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(major, response.Version.Major);
        }

        for (var i = 0; i < 3; i++)
        {
            var entry = await Gateway.WaitForRequestEntryAsync(agent + "-" + i);
            Assert.Equal(major == 2 ? "HTTP/2" : "HTTP/1.1", (string?)entry["protocol"]);
            Assert.Equal(scheme, (string?)entry["scheme"]);
            Assert.Equal(i == 1 ? 6 : 0, (long)entry["bytesIn"]!);
        }
    }

    [Fact]
    public async Task A_preface_that_arrives_in_pieces_is_still_HTTP_2()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Gateway.App.Ports.Http!.Value);
        var stream = tcp.GetStream();
        var preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();
        foreach (var piece in new[] { preface[..1], preface[1..9], preface[9..] })
        {
            await stream.WriteAsync(piece);
            await stream.FlushAsync();
        }

        // An empty SETTINGS frame; the server's first frame is its SETTINGS (type 0x4) on stream 0.
        await stream.WriteAsync(new byte[] { 0, 0, 0, 0x4, 0, 0, 0, 0, 0 });
        var header = new byte[9];
        await stream.ReadExactlyAsync(header).AsTask().WaitAsync(TestGateway.Timeout);
        Assert.Equal(0x4, header[3]);
        Assert.Equal(0, header[5] | header[6] | header[7] | header[8]);
    }

    [Fact]
    public async Task An_HTTP_1_1_request_that_begins_like_the_preface_is_still_HTTP_1_1()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Gateway.App.Ports.Http!.Value);
        var stream = tcp.GetStream();
        await stream.WriteAsync("P"u8.ToArray());
        await stream.FlushAsync();
        await stream.WriteAsync("UT /put HTTP/1.1\r\nHost: h2.test\r\nUser-Agent: split-put\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"u8.ToArray());
        using var reader = new StreamReader(stream);
        var reply = await reader.ReadToEndAsync().WaitAsync(TestGateway.Timeout);
        Assert.StartsWith("HTTP/1.1 200 OK", reply, StringComparison.Ordinal);

        var entry = await Gateway.WaitForRequestEntryAsync("split-put");
        Assert.Equal("HTTP/1.1", (string?)entry["protocol"]);
        Assert.Equal("PUT", (string?)entry["method"]);
    }
}
