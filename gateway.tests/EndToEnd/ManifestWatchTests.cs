using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>The manifest directory is live: edits, deletions and new files change routing without a restart.</summary>
public sealed class ManifestWatchTests
{
    [Fact]
    public async Task Edited_manifest_changes_routing()
    {
        await using var gateway = await StartAsync();
        Assert.Equal("one", await gateway.ServedByAsync("http://app.test/v1"));

        gateway.WriteManifest("app.yaml", AppIngress("/v2", "two"));
        await gateway.WaitForAsync(t => t.Routes.Any(r => r.Id == "default/app:app.test/v2:Prefix") && t.Routes.All(r => r.Path != "/v1"));

        Assert.Equal("two", await gateway.ServedByAsync("http://app.test/v2"));
        Assert.Equal("404", await gateway.ServedByAsync("http://app.test/v1"));
    }

    [Fact]
    public async Task Deleted_manifest_removes_its_routes()
    {
        await using var gateway = await StartAsync();
        Assert.Equal("one", await gateway.ServedByAsync("http://app.test/v1"));

        gateway.DeleteManifest("app.yaml");
        await gateway.WaitForAsync(t => t.Routes.Count == 0 && t.Ingresses.Count == 0);

        Assert.Equal("404", await gateway.ServedByAsync("http://app.test/v1"));
    }

    [Fact]
    public async Task New_manifest_adds_routes()
    {
        await using var gateway = await StartAsync();
        Assert.Equal("404", await gateway.ServedByAsync("http://new.test/"));

        gateway.WriteManifest("sub/new.yaml", Manifests.Ingress("new", [new HostRule("new.test", new PathRule("/", "Prefix", "two", 80))]));
        await gateway.WaitForRouteAsync("default/new:new.test/:Prefix");

        Assert.Equal("two", await gateway.ServedByAsync("http://new.test/"));
        Assert.Equal("one", await gateway.ServedByAsync("http://app.test/v1"));
    }

    [Fact]
    public async Task Endpoints_turning_unready_give_503_and_ready_again_serve()
    {
        await using var gateway = await StartAsync();
        Assert.Equal("one", await gateway.ServedByAsync("http://app.test/v1"));

        gateway.WriteManifest("services.yaml", Manifests.Documents(gateway.ServiceFor("one", ready: false), gateway.ServiceFor("two")));
        await gateway.WaitForAsync(t => t.Routes.Single().Backend.Destinations.Count == 0);
        using (var response = await gateway.GetAsync("http://app.test/v1"))
        {
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("service default/one has no ready endpoints", TestGateway.Reason(response));
        }

        gateway.WriteManifest("services.yaml", Manifests.Documents(gateway.ServiceFor("one"), gateway.ServiceFor("two")));
        await gateway.WaitForAsync(t => t.Routes.Single().Backend.Destinations.Count == 1);
        Assert.Equal("one", await gateway.ServedByAsync("http://app.test/v1"));
    }

    private static Task<TestGateway> StartAsync() => TestGateway.StartAsync(["one", "two"], g =>
    {
        g.WriteManifest("services.yaml", Manifests.Documents(g.ServiceFor("one"), g.ServiceFor("two")));
        g.WriteManifest("app.yaml", AppIngress("/v1", "one"));
        Directory.CreateDirectory(Path.Combine(g.ManifestDirectory, "sub"));
    });

    private static string AppIngress(string path, string service) =>
        Manifests.Ingress("app", [new HostRule("app.test", new PathRule(path, "Prefix", service, 80))]);
}
