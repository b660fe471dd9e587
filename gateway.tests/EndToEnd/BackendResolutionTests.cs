using System.Net;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// Backends resolved through Services and EndpointSlices: named and numbered ports, ready
/// endpoints only (503 naming the service otherwise, never a silent 404), missing services,
/// and ExternalName services.
/// </summary>
public sealed class BackendResolutionTests(BackendResolutionTests.Services fixture) : IClassFixture<BackendResolutionTests.Services>
{
    private TestGateway Gateway => fixture.Gateway;

    [Theory]
    [InlineData("/named-http", "multi-http")]
    [InlineData("/named-admin", "multi-admin")]
    [InlineData("/number-80", "multi-http")]
    [InlineData("/number-8081", "multi-admin")]
    public async Task Named_and_numbered_ports_resolve_through_the_Service_and_the_EndpointSlice(string path, string backend) =>
        Assert.Equal(backend, await Gateway.ServedByAsync("http://ports.test" + path));

    [Theory]
    [InlineData("/sleepy", "service default/sleepy has no ready endpoints")]
    [InlineData("/ghost", "service default/ghost not found")]
    [InlineData("/named-missing", "service default/multi has no port metrics")]
    public async Task Unavailable_backend_gets_503_with_a_reason_naming_the_service(string path, string reason)
    {
        using var response = await Gateway.GetAsync("http://ports.test" + path);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.False(response.Headers.Contains("X-Backend"));
        Assert.Equal(reason, TestGateway.Reason(response));
        Assert.Contains(reason, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/ext-ip")]
    [InlineData("/ext-name")]
    public async Task ExternalName_service_forwards_to_the_external_name(string path)
    {
        var echo = await Gateway.GetEchoAsync("http://ports.test" + path);
        Assert.Equal("external", echo.Service);
        Assert.Equal(path, echo.Path);
        Assert.Equal("ports.test", echo.Host);
    }

    public sealed class Services : SharedGateway
    {
        private protected override string[] Backends => ["multi-http", "multi-admin", "sleepy", "external"];

        private protected override void WriteManifests(TestGateway gateway)
        {
            var external = gateway.PortOf("external");
            gateway.WriteManifest("services.yaml", Manifests.Documents(
                Manifests.Service("multi", [
                    new ServicePort("http", 80, gateway.PortOf("multi-http")),
                    new ServicePort("admin", 8081, gateway.PortOf("multi-admin")),
                ]),
                // The backend runs: only the ready condition keeps the gateway from it.
                gateway.ServiceFor("sleepy", ready: false),
                Manifests.ExternalName("ext-ip", "127.0.0.1", external),
                Manifests.ExternalName("ext-name", "localhost", external)));
            gateway.WriteManifest("ports.yaml", Manifests.Ingress("ports", [new HostRule(
                "ports.test",
                new PathRule("/named-http", "Prefix", "multi", "http"),
                new PathRule("/named-admin", "Prefix", "multi", "admin"),
                new PathRule("/named-missing", "Prefix", "multi", "metrics"),
                new PathRule("/number-80", "Prefix", "multi", 80),
                new PathRule("/number-8081", "Prefix", "multi", 8081),
                new PathRule("/sleepy", "Prefix", "sleepy", 80),
                new PathRule("/ghost", "Prefix", "ghost", 80),
                new PathRule("/ext-ip", "Prefix", "ext-ip", external),
                new PathRule("/ext-name", "Prefix", "ext-name", external))]));
        }
    }
}
