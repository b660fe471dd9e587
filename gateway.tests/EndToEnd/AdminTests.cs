using System.Net;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>The admin listener: liveness, readiness with the revision, and the route table in force.</summary>
public sealed class AdminTests(AdminTests.App fixture) : IClassFixture<AdminTests.App>
{
    private TestGateway Gateway => fixture.Gateway;

    [Fact]
    public async Task Healthz_answers_200()
    {
        using var response = await Gateway.Client.GetAsync(Gateway.AdminUri("/healthz"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Readyz_answers_200_with_the_revision_in_force()
    {
        var ready = await Gateway.GetAdminJsonAsync("/readyz");
        Assert.True((bool?)ready["ready"]);
        Assert.True((bool?)ready["configSynced"]);
        Assert.Equal(Gateway.Table.Revision, (string?)ready["revision"]);
        Assert.StartsWith("sha256:", (string?)ready["revision"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_routes_lists_the_revision_routes_and_Ingress_reports()
    {
        var table = await Gateway.GetAdminJsonAsync("/api/routes");
        Assert.Equal(Gateway.Table.Revision, (string?)table["revision"]);

        var route = Assert.Single(table["routes"]!.AsArray())!;
        Assert.Equal("default/app:app.test/:Prefix", (string?)route["id"]);
        Assert.Equal("app.test", (string?)route["host"]);
        Assert.Equal("app", (string?)route["backend"]!["service"]);
        Assert.Equal($"127.0.0.1:{Gateway.PortOf("app")}", (string?)Assert.Single(route["backend"]!["destinations"]!.AsArray()));

        var report = Assert.Single(table["ingresses"]!.AsArray())!;
        Assert.Equal("default/app", (string?)report["ingress"]);
        Assert.Equal("accepted", (string?)report["status"]);
    }

    [Fact]
    public async Task Admin_paths_on_the_proxy_listener_are_not_the_admin_api()
    {
        using var response = await Gateway.GetAsync("http://other.test/api/routes");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("no route matches this host and path", TestGateway.Reason(response));
    }

    public sealed class App : SharedGateway
    {
        private protected override string[] Backends => ["app"];

        private protected override void WriteManifests(TestGateway gateway) => gateway.WriteManifest("app.yaml", Manifests.Documents(
            gateway.ServiceFor("app"),
            Manifests.Ingress("app", [new HostRule("app.test", new PathRule("/", "Prefix", "app", 80))])));
    }
}
