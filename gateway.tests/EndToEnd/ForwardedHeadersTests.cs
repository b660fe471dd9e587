using System.Globalization;
using AuditGateway.Demo;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// What a backend receives: the client's original <c>Host</c>, and <c>X-Forwarded-*</c> /
/// <c>X-Real-IP</c> set by the gateway, never the values a client put in them.
/// </summary>
public sealed class ForwardedHeadersTests(ForwardedHeadersTests.Forwarding fixture) : IClassFixture<ForwardedHeadersTests.Forwarding>
{
    private TestGateway Gateway => fixture.Gateway;

    [Theory]
    [InlineData("http", "1.1")]
    [InlineData("https", "1.1")]
    [InlineData("https", "2.0")] // HTTP/2 carries the host in :authority, not in a Host header
    public async Task Backend_gets_the_original_host_and_gateway_set_forwarded_headers(string scheme, string version)
    {
        var echo = await SendSpoofedAsync($"{scheme}://fwd.test/path?q=1", Version.Parse(version));
        var port = scheme == "https" ? Gateway.App.Ports.Https : Gateway.App.Ports.Http;

        Assert.Equal("fwd", echo.Service);
        Assert.Equal("fwd.test", echo.Host);
        Assert.Equal("/path", echo.Path);
        Assert.Equal("?q=1", echo.Query);
        Assert.Equal("127.0.0.1", echo.Headers["x-forwarded-for"]);
        Assert.Equal("127.0.0.1", echo.Headers["x-real-ip"]);
        Assert.Equal(scheme, echo.Headers["x-forwarded-proto"]);
        Assert.Equal("fwd.test", echo.Headers["x-forwarded-host"]);
        Assert.Equal(port?.ToString(CultureInfo.InvariantCulture), echo.Headers["x-forwarded-port"]);
        Assert.False(string.IsNullOrEmpty(echo.Headers["x-request-id"]));
        Assert.NotEqual("spoofed-id", echo.Headers["x-request-id"]);
        Assert.False(echo.Headers.ContainsKey("forwarded"));
        Assert.DoesNotContain(echo.Headers.Values, v => v.Contains("6.6.6.6", StringComparison.Ordinal) || v.Contains("evil.test", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Host_with_port_reaches_the_backend_as_sent()
    {
        using var response = await Gateway.GetAsync("http://fwd.test/", "fwd.test:8080");
        var echo = await TestGateway.ReadEchoAsync(response, "fwd.test:8080");
        Assert.Equal("fwd.test:8080", echo.Host);
        Assert.Equal("fwd.test:8080", echo.Headers["x-forwarded-host"]);
    }

    private async Task<EchoReply> SendSpoofedAsync(string url, Version version)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(url)) { Version = version, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        request.Headers.Add("X-Forwarded-For", "6.6.6.6");
        request.Headers.Add("X-Forwarded-Host", "evil.test");
        request.Headers.Add("X-Forwarded-Proto", "gopher");
        request.Headers.Add("X-Forwarded-Port", "6666");
        request.Headers.Add("X-Real-IP", "6.6.6.6");
        request.Headers.Add("X-Request-ID", "spoofed-id");
        request.Headers.Add("Forwarded", "for=6.6.6.6;host=evil.test");
        using var response = await Gateway.Client.SendAsync(request);
        Assert.Equal(version, response.Version);
        return await TestGateway.ReadEchoAsync(response, url);
    }

    public sealed class Forwarding : SharedGateway
    {
        private protected override string[] Backends => ["fwd"];

        private protected override void WriteManifests(TestGateway gateway) => gateway.WriteManifest("fwd.yaml", Manifests.Documents(
            gateway.ServiceFor("fwd"),
            TestCertificates.Secret("fwd-tls", "fwd.test", "fwd.test"),
            Manifests.Ingress(
                "fwd",
                [new HostRule("fwd.test", new PathRule("/", "Prefix", "fwd", 80))],
                annotations: new Dictionary<string, string> { ["auditgateway.io/ssl-redirect"] = "false" },
                tls: [new TlsEntry("fwd-tls", "fwd.test")])));
    }
}
