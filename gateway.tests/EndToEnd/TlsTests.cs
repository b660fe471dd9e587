using System.Net;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// TLS termination: the certificate is chosen by SNI (exact host, one-label wildcard, the
/// default for anything else), and HTTP requests to TLS hosts are redirected with 308
/// unless <c>auditgateway.io/ssl-redirect: "false"</c>.
/// </summary>
public sealed class TlsTests(TlsTests.TlsHosts fixture) : IClassFixture<TlsTests.TlsHosts>
{
    private TestGateway Gateway => fixture.Gateway;

    [Theory]
    [InlineData("exact.tls.test", "CN=exact.tls.test")]
    [InlineData("a.wild.tls.test", "CN=*.wild.tls.test")]
    [InlineData("other.wild.tls.test", "CN=*.wild.tls.test")]
    [InlineData("a.b.wild.tls.test", TestCertificates.DefaultSubject)]
    [InlineData("wild.tls.test", TestCertificates.DefaultSubject)]
    [InlineData("unknown.test", TestCertificates.DefaultSubject)]
    public async Task Certificate_presented_matches_the_server_name(string serverName, string subject)
    {
        using var certificate = await Gateway.HandshakeAsync(serverName);
        Assert.Equal(subject, certificate.Subject);
    }

    [Theory]
    [InlineData("https://exact.tls.test/x?y=1", "CN=exact.tls.test")]
    [InlineData("https://a.wild.tls.test/x?y=1", "CN=*.wild.tls.test")]
    public async Task Https_request_is_served_by_the_backend_with_the_host_certificate(string url, string subject)
    {
        var (response, certificate) = await Gateway.GetOverNewTlsConnectionAsync(url);
        using (response)
        using (certificate)
        {
            var echo = await TestGateway.ReadEchoAsync(response, url);
            Assert.Equal(subject, certificate.Subject);
            Assert.Equal("secure", echo.Service);
            Assert.Equal("/x", echo.Path);
            Assert.Equal("?y=1", echo.Query);
            Assert.Equal("https", echo.Headers["x-forwarded-proto"]);
        }
    }

    [Theory]
    [InlineData("http://exact.tls.test/a/b?x=1&y=two", "https://exact.tls.test/a/b?x=1&y=two")]
    [InlineData("http://a.wild.tls.test/", "https://a.wild.tls.test/")]
    public async Task Http_request_to_a_tls_host_is_redirected_with_308_keeping_path_and_query(string url, string location)
    {
        using var response = await Gateway.GetAsync(url);
        Assert.Equal(HttpStatusCode.PermanentRedirect, response.StatusCode);
        Assert.Equal(location, response.Headers.Location?.OriginalString);
        Assert.False(response.Headers.Contains("X-Backend"));

        var (followed, certificate) = await Gateway.GetOverNewTlsConnectionAsync(location);
        using (followed)
        using (certificate)
        {
            var echo = await TestGateway.ReadEchoAsync(followed, location);
            Assert.Equal(new Uri(location).PathAndQuery, echo.Path + echo.Query);
        }
    }

    [Fact]
    public async Task Redirect_with_a_port_in_Host_points_at_the_gateway_https_listener()
    {
        using var response = await Gateway.GetAsync("http://exact.tls.test/p?q=1", "exact.tls.test:8080");
        Assert.Equal(HttpStatusCode.PermanentRedirect, response.StatusCode);
        Assert.Equal($"https://exact.tls.test:{Gateway.App.Ports.Https}/p?q=1", response.Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("plain.tls.test")] // auditgateway.io/ssl-redirect: "false"
    [InlineData("nginx.tls.test")] // nginx.ingress.kubernetes.io/ssl-redirect: "false"
    public async Task Ssl_redirect_false_serves_plain_http_on_a_tls_host(string host)
    {
        var echo = await Gateway.GetEchoAsync($"http://{host}/p?q=1");
        Assert.Equal("secure", echo.Service);
        Assert.Equal("http", echo.Headers["x-forwarded-proto"]);

        using var certificate = await Gateway.HandshakeAsync(host);
        Assert.Equal("CN=" + host, certificate.Subject);
    }

    public sealed class TlsHosts : SharedGateway
    {
        private protected override string[] Backends => ["secure"];

        private protected override void WriteManifests(TestGateway gateway)
        {
            gateway.WriteManifest("secrets.yaml", Manifests.Documents(
                TestCertificates.Secret("exact-tls", "exact.tls.test", "exact.tls.test"),
                TestCertificates.Secret("wild-tls", "*.wild.tls.test", "*.wild.tls.test"),
                TestCertificates.Secret("plain-tls", "plain.tls.test", "plain.tls.test"),
                TestCertificates.Secret("nginx-tls", "nginx.tls.test", "nginx.tls.test")));
            gateway.WriteManifest("secure.yaml", Manifests.Documents(
                gateway.ServiceFor("secure"),
                Manifests.Ingress(
                    "secure",
                    [
                        new HostRule("exact.tls.test", new PathRule("/", "Prefix", "secure", 80)),
                        new HostRule("*.wild.tls.test", new PathRule("/", "Prefix", "secure", 80)),
                    ],
                    tls: [new TlsEntry("exact-tls", "exact.tls.test"), new TlsEntry("wild-tls", "*.wild.tls.test")]),
                Manifests.Ingress(
                    "plain",
                    [new HostRule("plain.tls.test", new PathRule("/", "Prefix", "secure", 80))],
                    annotations: new Dictionary<string, string> { ["auditgateway.io/ssl-redirect"] = "false" },
                    tls: [new TlsEntry("plain-tls", "plain.tls.test")]),
                Manifests.Ingress(
                    "nginx",
                    [new HostRule("nginx.tls.test", new PathRule("/", "Prefix", "secure", 80))],
                    annotations: new Dictionary<string, string> { ["nginx.ingress.kubernetes.io/ssl-redirect"] = "false" },
                    tls: [new TlsEntry("nginx-tls", "nginx.tls.test")])));
        }
    }
}
