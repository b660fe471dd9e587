using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Kubernetes;

/// <summary>
/// docs/audit-log.md guarantee 6, cluster mode: when an observer of the route table or the durable
/// config append fails, nothing of the watched change is in force; it is retried (later watch
/// events wait behind it, not merged into it) and takes effect together with its own
/// <c>config</c> entry, written once.
/// </summary>
public sealed class ControllerTransactionTests
{
    private const string V1 = "default/shop:shop.test/v1:Prefix";

    private static string Shop(string path) =>
        Manifests.Ingress("shop", [new HostRule("shop.test", new PathRule(path, "Prefix", "web", 80))]).Trim();

    [Fact]
    public async Task An_observer_failing_once_keeps_the_old_table_then_the_change_takes_effect_with_one_entry()
    {
        var observer = new FaultyObserver();
        await using var cluster = await StartAsync(observer);
        var gateway = cluster.Gateway;
        using var failures = new ReloadFailureCounter(gateway.Service<IMeterFactory>());
        var old = gateway.Table.Revision;
        var mark = gateway.ConfigEntries().Count;
        var committed = observer.Committed.Count;

        observer.FailNext(1);
        observer.Hold();
        (await cluster.KubectlAsync(Shop("/v2"), "replace", "-f", "-")).EnsureSuccess();
        await observer.WaitForFailuresAsync(1);
        await AssertInForceAsync(cluster, old, serves: "/v1", notYet: ["/v2"]);
        Assert.Empty(gateway.ConfigEntries().Skip(mark));

        observer.Release();
        var table = await gateway.WaitForRouteAsync("default/shop:shop.test/v2:Prefix");
        var entry = Assert.Single(gateway.ConfigEntries().Skip(mark));
        Assert.Equal("shop", (string?)entry["object"]!["name"]);
        Assert.Equal(old, (string?)entry["revisionBefore"]);
        Assert.Equal(table.Revision, (string?)entry["revisionAfter"]);
        Assert.Equal("kubernetes-admin", (string?)entry["actor"]!["username"]);
        Assert.Equal("web", await cluster.ServedByAsync("http://shop.test/v2"));
        Assert.Equal([table.Revision], observer.Committed.Skip(committed));

        Assert.Equal(1, failures.Total);
        Assert.Single(gateway.Logs.Containing(LogLevel.Error, "could not take effect: the test observer refused the change", "retried"));
        Assert.Single(gateway.Logs.Containing(LogLevel.Information, "Ingress default/shop", "took effect after 2 attempts"));
    }

    [Fact]
    public async Task While_an_observer_keeps_failing_the_old_table_serves_later_events_wait_and_readyz_warns_then_both_apply_in_order()
    {
        var observer = new FaultyObserver();
        await using var cluster = await StartAsync(observer);
        var gateway = cluster.Gateway;
        var old = gateway.Table.Revision;
        var mark = gateway.ConfigEntries().Count;
        var committed = observer.Committed.Count;

        observer.FailUntilReleased();
        (await cluster.KubectlAsync(Shop("/v2"), "replace", "-f", "-")).EnsureSuccess();
        await observer.WaitForFailuresAsync(2);
        (await cluster.KubectlAsync(Shop("/v3"), "replace", "-f", "-")).EnsureSuccess();
        await observer.WaitForFailuresAsync(observer.Failures + 4);

        await AssertInForceAsync(cluster, old, serves: "/v1", notYet: ["/v2", "/v3"]);
        Assert.Empty(gateway.ConfigEntries().Skip(mark));
        var ready = await ReadyAsync(cluster);
        Assert.True((bool)ready["ready"]!, "the previous configuration serves: still ready");
        var warning = Assert.Single(Warnings(ready), w => w.Contains("config change", StringComparison.Ordinal));
        Assert.Contains("Ingress default/shop", warning, StringComparison.Ordinal);
        Assert.Contains("the test observer refused the change", warning, StringComparison.Ordinal);

        observer.Release();
        var table = await gateway.WaitForRouteAsync("default/shop:shop.test/v3:Prefix");

        // Two changes, two entries, in order: the second starts from the revision the first produced.
        var entries = gateway.ConfigEntries().Skip(mark).ToList();
        Assert.Equal(2, entries.Count);
        Assert.All(entries, e => Assert.Equal("shop", (string?)e["object"]!["name"]));
        Assert.Equal(old, (string?)entries[0]["revisionBefore"]);
        var first = (string)entries[0]["revisionAfter"]!;
        Assert.Equal(first, (string?)entries[1]["revisionBefore"]);
        Assert.Equal(table.Revision, (string?)entries[1]["revisionAfter"]);
        Assert.Contains("default/shop:shop.test/v2:Prefix", entries[0]["effect"]!["added"]!.AsArray().Select(n => (string?)n));
        Assert.Contains("default/shop:shop.test/v3:Prefix", entries[1]["effect"]!["added"]!.AsArray().Select(n => (string?)n));
        Assert.Equal([first, table.Revision], observer.Committed.Skip(committed));

        Assert.Single(gateway.Logs.Containing(LogLevel.Error, "could not take effect"));
        Assert.DoesNotContain(Warnings(await ReadyAsync(cluster)), w => w.Contains("config change", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_config_append_failing_once_is_retried_and_written_once()
    {
        var observer = new FaultyObserver();
        FaultyAuditLog? log = null;
        await using var cluster = await StartAsync(observer, l => log = l);
        Assert.NotNull(log);
        var gateway = cluster.Gateway;
        var old = gateway.Table.Revision;
        var mark = gateway.ConfigEntries().Count;

        // The append fails; the retry waits in the observer until the test has looked.
        log.FailConfigAppends(skip: 0, fail: 1);
        observer.Hold(pass: 1);
        (await cluster.KubectlAsync(Shop("/v2"), "replace", "-f", "-")).EnsureSuccess();
        await Eventually.TrueAsync(() => log.Failures == 1, TestGateway.Timeout, "the config append failed");
        await Eventually.TrueAsync(() => gateway.Logs.Containing(LogLevel.Error, "could not take effect").Count == 1, TestGateway.Timeout, "the failure is logged");
        await AssertInForceAsync(cluster, old, serves: "/v1", notYet: ["/v2"]);
        Assert.Empty(gateway.ConfigEntries().Skip(mark));

        observer.Release();
        var table = await gateway.WaitForRouteAsync("default/shop:shop.test/v2:Prefix");
        var entry = Assert.Single(gateway.ConfigEntries().Skip(mark));
        Assert.Equal("shop", (string?)entry["object"]!["name"]);
        Assert.Equal(old, (string?)entry["revisionBefore"]);
        Assert.Equal(table.Revision, (string?)entry["revisionAfter"]);
        Assert.Single(gateway.Logs.Containing(LogLevel.Error, "could not take effect: fsync failed (test)"));
    }

    /// <summary>A cluster-mode gateway with the faults registered, serving <c>shop.test/v1</c>.</summary>
    private static async Task<ClusterGateway> StartAsync(FaultyObserver observer, Action<FaultyAuditLog>? log = null)
    {
        var cluster = await ClusterGateway.StartAsync(["web"], configure: s => ReconcileFaults.Add(s, observer, log));
        try
        {
            (await cluster.KubectlAsync(ClusterGateway.ListOf(cluster.ServiceFor("web"), Shop("/v1")), "create", "-f", "-")).EnsureSuccess();
            // With its endpoints, so every object of the set-up is in force (and recorded) before the test marks the log.
            await cluster.Gateway.WaitForAsync(t => t.Routes.Any(r => r.Id == V1 && r.Backend.Destinations.Count > 0));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private static async Task AssertInForceAsync(ClusterGateway cluster, string revision, string serves, string[] notYet)
    {
        Assert.Equal(revision, cluster.Gateway.Table.Revision);
        Assert.Equal("web", await cluster.ServedByAsync("http://shop.test" + serves));
        foreach (var path in notYet)
        {
            Assert.Equal("404", await cluster.ServedByAsync("http://shop.test" + path));
        }
    }

    private static async Task<JsonNode> ReadyAsync(ClusterGateway cluster)
    {
        using var client = cluster.AdminClient();
        return JsonNode.Parse(await client.GetStringAsync(cluster.AdminUri("/readyz")))!;
    }

    private static List<string> Warnings(JsonNode ready) => [.. ready["warnings"]!.AsArray().Select(w => (string)w!)];
}
