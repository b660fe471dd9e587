using System.Net;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// Host matching through the gateway: <c>*.foo.com</c> covers exactly one extra label
/// (the documentation's hostWildcardTable), an exact host beats the wildcard, the port in
/// <c>Host:</c> is ignored and hosts compare case-insensitively.
/// </summary>
public sealed class HostMatchingTests(HostMatchingTests.Hosts fixture) : IClassFixture<HostMatchingTests.Hosts>
{
    private TestGateway Gateway => fixture.Gateway;

    public static TheoryData<string, string, bool> WildcardTable()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (var (host, header, matches) in PathMatchingTable.HostWildcards)
        {
            data.Add(host, header, matches);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(WildcardTable))]
    public async Task Wildcard_covers_exactly_one_label(string host, string hostHeader, bool matches)
    {
        Assert.Equal("*.foo.com", host);
        Assert.Equal(matches ? "wildcard" : "404", await Gateway.ServedByAsync($"http://{hostHeader}/foo"));
    }

    [Fact]
    public async Task Exact_host_beats_the_wildcard_that_also_covers_it()
    {
        Assert.Equal("exact", await Gateway.ServedByAsync("http://exact.foo.com/foo"));
        Assert.Equal("wildcard", await Gateway.ServedByAsync("http://other.foo.com/foo"));
    }

    [Theory]
    [InlineData("exact.foo.com:8081", "exact")]
    [InlineData("bar.foo.com:1234", "wildcard")]
    [InlineData("EXACT.Foo.COM", "exact")]
    [InlineData("Bar.FOO.com", "wildcard")]
    [InlineData("Exact.Foo.Com:80", "exact")]
    public async Task Host_header_port_is_ignored_and_case_does_not_matter(string hostHeader, string backend)
    {
        using var response = await Gateway.GetAsync("http://host.test/foo", hostHeader);
        var echo = await TestGateway.ReadEchoAsync(response, hostHeader);
        Assert.Equal(backend, echo.Service);
        Assert.Equal(hostHeader, echo.Host);
    }

    [Fact]
    public async Task Unknown_host_gets_404_from_the_gateway()
    {
        using var response = await Gateway.GetAsync("http://nothing.test/foo");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False(response.Headers.Contains("X-Backend"));
    }

    public sealed class Hosts : SharedGateway
    {
        private protected override string[] Backends => ["wildcard", "exact"];

        private protected override void WriteManifests(TestGateway gateway) => gateway.WriteManifest("hosts.yaml", Manifests.Documents(
            gateway.ServiceFor("wildcard"),
            gateway.ServiceFor("exact"),
            Manifests.Ingress("hosts", [
                new HostRule("*.foo.com", new PathRule("/", "Prefix", "wildcard", 80)),
                new HostRule("exact.foo.com", new PathRule("/", "Prefix", "exact", 80)),
            ])));
    }
}
