using System.Diagnostics;
using System.Globalization;
using System.Net;
using AuditGateway.Tests.Common;
using Xunit.Abstractions;

namespace AuditGateway.Tests.Redis;

/// <summary>
/// Rate limits counted across three gateway processes sharing one real redis-server, and Redis
/// trouble that never reaches the request path (docs/replicas.md).
/// </summary>
[Collection(ReplicaTimingTests.Name)]
public sealed class ReplicaLimitTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Limited = "limited.test";
    private const string Fast = "fast.test";
    private const int Limit = 50;

    private RedisReplicas? _set;

    private ReplicaSet Replicas => _set!.Replicas;

    private RedisServer Redis => _set!.Redis;

    public async Task InitializeAsync()
    {
        _set = await RedisReplicas.StartAsync(3, [
            Manifests.Ingress("limited", [new HostRule(Limited, new PathRule("/", "Prefix", "web", 80))], annotations: new Dictionary<string, string> { ["auditgateway.io/rate-limit"] = $"{Limit}r/s" }),
            Manifests.Ingress("fast", [new HostRule(Fast, new PathRule("/", "Prefix", "web", 80))], annotations: new Dictionary<string, string> { ["auditgateway.io/rate-limit"] = "50000r/s" })]);
        foreach (var replica in Replicas.Replicas)
        {
            await Eventually.TrueAsync(() => replica.AdminAsync(HttpMethod.Get, "/readyz").GetAwaiter().GetResult().Body.Contains("\"replicas\": 3", StringComparison.Ordinal), TimeSpan.FromSeconds(20), $"{replica.Node} counts 3 replicas");
        }
    }

    public async Task DisposeAsync() => await _set!.DisposeAsync();

    [Fact]
    public async Task A_limit_of_50_per_second_spread_over_three_replicas_accepts_no_more_than_the_limit_plus_replicas_times_batch_over_20_s()
    {
        var client = IPAddress.Parse("127.0.7.1");
        var duration = TimeSpan.FromSeconds(20);
        var started = Stopwatch.GetTimestamp();
        var results = await Task.WhenAll(Replicas.Replicas.Select(r => LoadAsync(r, Limited, client, duration, perSecond: 150)));
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;

        var statuses = results.SelectMany(r => r.Select(x => x.Status)).ToList();
        Assert.All(statuses, s => Assert.True(s is 200 or 429, $"status {s}"));
        var accepted = statuses.Count(s => s == 200);
        var perReplica = results.Select(r => r.Count(x => x.Status == 200)).ToList();

        // A token bucket of 50 starting full, refilled at 50/s: at most 50 + 50 × seconds; the lease adds at most
        // max(1 % of the limit, replicas × batch) = 3 (a batch of 1 at this limit).
        var allowed = Limit + (Limit * elapsed);
        const int overshoot = 3;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{statuses.Count} requests in {elapsed:0.0} s, {accepted} accepted ({string.Join(" + ", perReplica)}), a single bucket would accept {allowed:0}; {accepted / elapsed:0.0} r/s"));
        Assert.True(accepted <= allowed + overshoot, $"{accepted} accepted, more than {allowed:0} + {overshoot}");
        Assert.True(accepted >= 0.9 * Limit * elapsed, $"only {accepted} accepted in {elapsed:0.0} s: the shared limit starves the replicas");
        Assert.All(perReplica, n => Assert.True(n > 0, "a replica accepted nothing"));
    }

    [Fact]
    public async Task Redis_paused_with_SIGSTOP_under_load_raises_no_replicas_p99_by_more_than_the_timeout_and_fails_no_request()
    {
        var client = IPAddress.Parse("127.0.8.1");
        var phase = TimeSpan.FromSeconds(5);
        var baseline = await Task.WhenAll(Replicas.Replicas.Select(r => LoadAsync(r, Fast, client, phase, perSecond: 100)));

        Redis.Pause();
        List<(int Status, double Ms)>[] paused;
        try
        {
            paused = await Task.WhenAll(Replicas.Replicas.Select(r => LoadAsync(r, Fast, client, phase, perSecond: 100)));
            foreach (var replica in Replicas.Replicas)
            {
                var ready = await replica.AdminAsync(HttpMethod.Get, "/readyz");
                Assert.Equal(200, ready.Status);
                Assert.Contains("degraded: Redis", ready.Body, StringComparison.Ordinal);
            }
        }
        finally
        {
            Redis.Resume();
        }

        var before = P99(baseline);
        var during = P99(paused);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"p99 before {before:0.00} ms, while Redis is stopped {during:0.00} ms ({baseline.Sum(b => b.Count)} and {paused.Sum(p => p.Count)} requests)"));
        Assert.All(baseline.Concat(paused).SelectMany(r => r), r => Assert.Equal(200, r.Status));
        Assert.True(during - before <= 50, $"p99 rose from {before:0.00} ms to {during:0.00} ms, more than redis.timeout (50 ms)");

        foreach (var replica in Replicas.Replicas)
        {
            await Eventually.TrueAsync(() => LifecycleEvents(replica).Contains("redis-restored"), TimeSpan.FromSeconds(10), $"{replica.Node} records redis-restored");
            var events = LifecycleEvents(replica);
            Assert.True(events.IndexOf("redis-down") >= 0 && events.IndexOf("redis-down") < events.IndexOf("redis-restored"), $"{replica.Node}: {string.Join(", ", events)}");
            Assert.Single(replica.Output, l => l.Contains("is unreachable", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task While_Redis_is_down_each_replica_enforces_the_limit_divided_by_the_replicas_it_last_saw()
    {
        await Redis.StopAsync();
        var replica = Replicas[1];
        await Eventually.TrueAsync(() => LifecycleEvents(replica).Contains("redis-down"), TimeSpan.FromSeconds(10), "redis-down is logged");
        var started = Stopwatch.GetTimestamp();
        var results = await LoadAsync(replica, Limited, IPAddress.Parse("127.0.7.9"), TimeSpan.FromSeconds(5), perSecond: 100);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var accepted = results.Count(r => r.Status == 200);

        // 50 r/s over 3 replicas: a local bucket of 16 refilled at 16/s.
        const int share = Limit / 3;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{results.Count} requests in {elapsed:0.0} s with Redis down, {accepted} accepted (a bucket of {share}/s allows {share + (share * elapsed):0})"));
        Assert.All(results, r => Assert.True(r.Status is 200 or 429, $"status {r.Status}"));
        Assert.True(accepted <= share + (share * elapsed) + 1, $"{accepted} accepted with Redis down: more than the replica's share");
        Assert.True(accepted >= 0.9 * share * elapsed, $"only {accepted} accepted with Redis down");
    }

    /// <summary>Sends <paramref name="perSecond"/> requests a second (one at a time) for <paramref name="duration"/>; each status and latency.</summary>
    private static async Task<List<(int Status, double Ms)>> LoadAsync(ReplicaSet.Replica replica, string host, IPAddress client, TimeSpan duration, int perSecond)
    {
        var results = new List<(int, double)>();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / perSecond));
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < duration && await timer.WaitForNextTickAsync())
        {
            var sent = Stopwatch.GetTimestamp();
            var status = await replica.GetAsync(host, "/work", client);
            results.Add((status, Stopwatch.GetElapsedTime(sent).TotalMilliseconds));
        }

        return results;
    }

    private static double P99(IEnumerable<List<(int Status, double Ms)>> runs)
    {
        var sorted = runs.SelectMany(r => r.Select(x => x.Ms)).Order().ToList();
        return sorted[(int)Math.Ceiling(sorted.Count * 0.99) - 1];
    }

    private static List<string> LifecycleEvents(ReplicaSet.Replica replica) =>
        [.. replica.Entries().Where(e => e.Kind() == "lifecycle").Select(e => e.Body().GetProperty("event").GetString()!)];
}
