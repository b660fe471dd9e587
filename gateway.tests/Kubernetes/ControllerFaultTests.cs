using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Kubernetes;

/// <summary>Watch faults: the gateway keeps serving the last good table, then converges.</summary>
public sealed class ControllerFaultTests
{
    private static string Ingress(string name, string host, string path) =>
        Manifests.Ingress(name, [new HostRule(host, new PathRule(path, "Prefix", "web", 80))]).Trim();

    [Fact]
    public async Task Dropped_watches_410s_and_500s_keep_the_last_table_then_converge()
    {
        await using var cluster = await ClusterGateway.StartAsync(["web"]);
        var gateway = cluster.Gateway;
        var faults = cluster.Server.Faults;
        (await cluster.KubectlAsync(ClusterGateway.ListOf(cluster.ServiceFor("web"), Ingress("shop", "shop.test", "/v1"), Ingress("other", "other.test", "/o")), "create", "-f", "-")).EnsureSuccess();
        await gateway.WaitForAsync(t => t.Routes.Count == 2);

        // A dropped watch, then a 410 Expired inside a 200 stream for every informer's next watch.
        faults.ExpireNextWatches(5);
        faults.DropWatches();
        (await cluster.KubectlAsync(Ingress("shop", "shop.test", "/v2"), "replace", "-f", "-")).EnsureSuccess();
        await gateway.WaitForRouteAsync("default/shop:shop.test/v2:Prefix");
        Assert.Equal("web", await cluster.ServedByAsync("http://shop.test/v2/x"));

        // 500s for a while, and meanwhile an object is deleted and the history compacted: only a relist can see the delete.
        var revision = gateway.Table.Revision;
        faults.FailRequestsFor(TimeSpan.FromSeconds(1.5));
        faults.DropWatches();
        cluster.Server.Remove("Ingress", "default", "other");
        faults.CompactHistory();
        Assert.Equal("web", await cluster.ServedByAsync("http://other.test/o"));
        Assert.Equal("web", await cluster.ServedByAsync("http://shop.test/v2/x"));
        Assert.Equal(revision, gateway.Table.Revision);
        Assert.True(gateway.App.Routing.Synced);

        await gateway.WaitForAsync(t => t.Routes.All(r => r.Ingress != "other"));
        Assert.Equal("404", await cluster.ServedByAsync("http://other.test/o"));
        Assert.Equal("web", await cluster.ServedByAsync("http://shop.test/v2/x"));
        var deleted = gateway.LastConfigEntry("Ingress", "other")!;
        Assert.Equal("delete", (string?)deleted["operation"]);
    }
}
