using System.Diagnostics;
using System.Text.Json.Nodes;
using AuditGateway.ControlPlane.Status;
using AuditGateway.Hosting;
using AuditGateway.Kubernetes.Election;
using AuditGateway.Routing;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Common.FakeApiServer;

namespace AuditGateway.Tests.Kubernetes;

/// <summary>Two replicas against one API server: one leader writes status and events; the other takes over.</summary>
public sealed class ControllerLeaderTests
{
    private static readonly ElectionTimings Short = new(LeaseSeconds: 2, RenewSeconds: 1.5, RetrySeconds: 0.1);

    // For a leader that must stay leader while the test looks: a renewal deadline a busy 2-core CI
    // machine cannot miss (with 1.5 s it once did, and the other replica took the lease mid-test).
    // A stopped leader still hands over at once: it releases the lease rather than letting it expire.
    private static readonly ElectionTimings Steady = new(LeaseSeconds: 6, RenewSeconds: 5, RetrySeconds: 0.1);

    private static string Ingress(string name, string path, string pathType = "Prefix") =>
        Manifests.Ingress(name, [new HostRule("shop.test", new PathRule(path, pathType, "web", 80))]).Trim();

    private static async Task<JsonNode> StatusOf(ClusterGateway cluster, string name) =>
        JsonNode.Parse((await cluster.KubectlAsync(null, "get", "ingress", name, "-o", "json")).EnsureSuccess().Stdout)!;

    private static async Task WaitForStatusAsync(ClusterGateway cluster, string name)
    {
        var stopwatch = Stopwatch.StartNew();
        while ((string?)(await StatusOf(cluster, name))["status"]?["loadBalancer"]?["ingress"]?[0]?["ip"] != ClusterGateway.PublishAddress)
        {
            Assert.True(stopwatch.Elapsed < TestGateway.Timeout, $"no status on {name}: " + string.Join("\n", cluster.Replicas.SelectMany(r => r.Logs.Lines.Select(l => r.Node + " " + l))));
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Exactly_one_replica_writes_status_and_the_other_takes_over_when_it_stops()
    {
        await using var cluster = await ClusterGateway.StartAsync(["web"], replicas: 2, election: Steady);
        var electors = cluster.Replicas.Select(r => r.Service<LeaderElector>()).ToList();
        await Eventually.TrueAsync(() => electors.Count(e => e.IsLeader) == 1, TestGateway.Timeout, "one leader");

        (await cluster.KubectlAsync(ClusterGateway.ListOf(cluster.ServiceFor("web"), Ingress("shop", "/v1")), "create", "-f", "-")).EnsureSuccess();
        await WaitForStatusAsync(cluster, "shop");
        var leader = cluster.Replicas.Single(r => r.Service<LeaderElector>().IsLeader);
        var follower = cluster.Replicas.Single(r => r != leader);
        await follower.WaitForRouteAsync("default/shop:shop.test/v1:Prefix");
        Assert.True(leader.Service<IngressStatusController>().StatusWrites >= 1);
        Assert.Equal(0, follower.Service<IngressStatusController>().StatusWrites);
        var lease = JsonNode.Parse((await cluster.KubectlAsync(null, "get", "lease", "auditgateway-leader", "-o", "json")).EnsureSuccess().Stdout)!;
        Assert.Equal(leader.Node, (string?)lease["spec"]!["holderIdentity"]);

        var stopped = Stopwatch.StartNew();
        await cluster.StopReplicaAsync(leader);
        await cluster.PointWebhooksAtAsync(follower);
        await Eventually.TrueAsync(() => follower.Service<LeaderElector>().IsLeader, TimeSpan.FromSeconds(5), "the follower takes over");
        Assert.True(stopped.Elapsed < TimeSpan.FromSeconds(Steady.LeaseSeconds), $"took over after {stopped.Elapsed}");

        (await cluster.KubectlAsync(Ingress("second", "/v2"), "create", "-f", "-")).EnsureSuccess();
        await WaitForStatusAsync(cluster, "second");
        Assert.True(follower.Service<IngressStatusController>().StatusWrites >= 1);
    }

    [Fact]
    public async Task A_lease_whose_holder_vanished_is_taken_after_it_expires()
    {
        await using var cluster = await ClusterGateway.StartAsync(["web"], replicas: 1, election: Short);
        var elector = cluster.Gateway.Service<LeaderElector>();
        await Eventually.TrueAsync(() => elector.IsLeader, TestGateway.Timeout, "leader");
        // Someone else (a crashed replica) holds the lease now and never renews it.
        var lease = JsonNode.Parse((await cluster.KubectlAsync(null, "get", "lease", "auditgateway-leader", "-o", "json")).EnsureSuccess().Stdout)!.AsObject();
        lease["spec"]!["holderIdentity"] = "crashed";
        lease["metadata"]!.AsObject().Remove("resourceVersion");
        var stopwatch = Stopwatch.StartNew();
        // kubectl replace reads the current resourceVersion before it writes; a renewal in between is a Conflict, and an operator would run it again.
        KubectlResult replaced;
        var attempts = 0;
        do
        {
            replaced = await cluster.KubectlAsync(lease.ToJsonString(), "replace", "-f", "-");
        }
        while (replaced.ExitCode != 0 && replaced.Stderr.Contains("(Conflict)", StringComparison.Ordinal) && ++attempts < 10);
        replaced.EnsureSuccess();
        await Eventually.TrueAsync(() => !elector.IsLeader, TimeSpan.FromSeconds(5), "steps down");
        await Eventually.TrueAsync(() => elector.IsLeader, TimeSpan.FromSeconds(10), "takes the expired lease");
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromSeconds(Short.LeaseSeconds) - TimeSpan.FromMilliseconds(200), $"took it after {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task A_refused_ingress_gets_one_warning_event_with_the_validation_message()
    {
        await using var cluster = await ClusterGateway.StartAsync(["web"], election: Short, admission: false);
        await Eventually.TrueAsync(() => cluster.Gateway.Service<LeaderElector>().IsLeader, TestGateway.Timeout, "leader");
        (await cluster.KubectlAsync(ClusterGateway.ListOf(cluster.ServiceFor("web"), Ingress("bad", "/v1", "Regex")), "create", "-f", "-")).EnsureSuccess();
        await cluster.Gateway.WaitForAsync(t => t.Ingresses.Any(r => r.Ingress == "default/bad" && r.Status == IngressOutcome.Refused));

        List<JsonNode> events = [];
        await Eventually.TrueAsync(() =>
        {
            var list = JsonNode.Parse(cluster.KubectlAsync(null, "get", "events", "-o", "json").GetAwaiter().GetResult().EnsureSuccess().Stdout)!;
            events = [.. list["items"]!.AsArray().Where(e => (string?)e!["reason"] == IngressStatusController.RefusedReason).Select(e => e!)];
            return events.Count > 0;
        }, TestGateway.Timeout, "a ConfigRefused event");
        var e = Assert.Single(events);
        Assert.Equal("Warning", (string?)e["type"]);
        Assert.Equal("bad", (string?)e["involvedObject"]!["name"]);
        Assert.Contains("spec.rules[0].http.paths[0].pathType", (string?)e["message"], StringComparison.Ordinal);
        Assert.Equal(0, cluster.Gateway.Service<IngressStatusController>().StatusWrites);
    }
}
