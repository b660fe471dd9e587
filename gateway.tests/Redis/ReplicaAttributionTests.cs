using AuditGateway.Redis;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Redis;

/// <summary>
/// The actor of a config change on every replica (docs/replicas.md): the real kubectl against the fake
/// API server, whose admission webhook calls one replica only; all three replicas (in-process, each its
/// own gateway with its own log) share one real redis-server, and each one's <c>config</c> entry names
/// the kubectl user — also when the report cannot travel by the channel and is read from Redis.
/// </summary>
[Collection(ReplicaTimingTests.Name)]
public sealed class ReplicaAttributionTests
{
    private static string Shop(string path) =>
        Manifests.Ingress("shop", [new HostRule("shop.test", new PathRule(path, "Prefix", "web", 80))]).Trim();

    [Fact]
    public async Task The_admission_webhook_called_on_one_replica_gives_every_replicas_config_entry_the_kubectl_user()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var cluster = await CreateThenReplaceAsync(redis.Url, replicas: 3);
        foreach (var replica in cluster.Replicas)
        {
            AssertNamesTheKubectlUser(replica);
        }
    }

    [Fact]
    public async Task A_replica_that_never_hears_the_report_on_the_channel_reads_it_from_Redis()
    {
        // The replicas' Redis user may use every key and channel but auditgw:attribution (ACL), so no
        // report reaches another replica by the channel: only what the webhook's replica stored is there.
        await using var redis = await RedisServer.StartAsync(
            "--user", "gateway", "on", ">gw-secret", "~auditgw:*", "&auditgw:blocks:changes", "&auditgw:witness", "+@all");
        await using var cluster = await CreateThenReplaceAsync($"redis://gateway:gw-secret@127.0.0.1:{redis.Port}", replicas: 2);
        AssertNamesTheKubectlUser(cluster.Replicas[1]);

        // The refused channel does not go unnoticed.
        Assert.All(cluster.Replicas, r => Assert.NotEmpty(r.Logs.Containing(LogLevel.Warning, "Cannot share who made a config change")));
    }

    /// <summary>Replicas sharing Redis at <paramref name="url"/>; kubectl creates an Ingress, then replaces it, and every replica has routed both.</summary>
    private static async Task<ClusterGateway> CreateThenReplaceAsync(string url, int replicas)
    {
        // Redis is given 2 s to answer: on a loaded machine a publish could miss the 50 ms default, and
        // the documented fallback to managedFields then (docs/replicas.md, "Attribution") is not what these tests are about.
        var cluster = await ClusterGateway.StartAsync(["web"], replicas: replicas, audit: false, redis: new RedisSection { Connection = url, Timeout = "2s" });
        try
        {
            foreach (var replica in cluster.Replicas)
            {
                await Eventually.TrueAsync(() => replica.Service<RedisLink>().IsUp, TimeSpan.FromSeconds(20), $"{replica.Node} reaches Redis");
            }

            (await cluster.KubectlAsync(ClusterGateway.ListOf(cluster.ServiceFor("web"), Shop("/v1")), "create", "-f", "-")).EnsureSuccess();

            // The create in force everywhere before the replace: a replica that saw both in one watch batch
            // (its pipeline busy meanwhile) would rightly record them as one change, a create of the final object.
            foreach (var replica in cluster.Replicas)
            {
                await replica.WaitForRouteAsync("default/shop:shop.test/v1:Prefix");
            }

            (await cluster.KubectlAsync(Shop("/v2"), "replace", "-f", "-")).EnsureSuccess();
            foreach (var replica in cluster.Replicas)
            {
                await replica.WaitForRouteAsync("default/shop:shop.test/v2:Prefix");
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The replica's two config entries of the Ingress, a create and an update, each naming the kubectl user from admission.</summary>
    private static void AssertNamesTheKubectlUser(ClusterGateway.Replica replica)
    {
        var entries = replica.ConfigEntries().Where(e => (string?)e["object"]?["kind"] == "Ingress" && (string?)e["object"]?["name"] == "shop").ToList();
        Assert.Equal(["create", "update"], entries.Select(e => (string?)e["operation"]));
        Assert.All(entries, e =>
        {
            Assert.Equal("kubernetes-admin", (string?)e["actor"]!["username"]);
            Assert.Equal("admission", (string?)e["actor"]!["via"]);
            Assert.Equal("kubectl", (string?)e["source"]);
            Assert.Contains("system:masters", e["actor"]!["groups"]!.AsArray().Select(n => (string?)n));
        });
    }
}
