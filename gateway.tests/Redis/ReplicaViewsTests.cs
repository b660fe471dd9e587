using System.Net;
using System.Text.Json;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Redis;

/// <summary>
/// Every replica on one replica's admin API (docs/replicas.md, "Every replica on one page"): two gateway
/// processes sharing a real redis-server with <c>streamEntries</c>; one's <c>/api/replicas/live</c> holds
/// both live route reports, and its <c>/api/log/stream?replicas=all</c> delivers the other's requests.
/// </summary>
[Collection(ReplicaTimingTests.Name)]
public sealed class ReplicaViewsTests : IAsyncLifetime
{
    private const string Host = RedisReplicas.Host;

    private RedisReplicas? _set;

    private ReplicaSet Replicas => _set!.Replicas;

    public async Task InitializeAsync() => _set = await RedisReplicas.StartAsync(2, redisKeys: "streamEntries: true");

    public async Task DisposeAsync() => await _set!.DisposeAsync();

    [Fact]
    public async Task One_replica_serves_the_live_route_reports_and_the_entries_of_every_replica()
    {
        var (a, b) = (Replicas[0], Replicas[1]);
        Assert.Equal(200, await a.GetAsync(Host, "/on-a", IPAddress.Loopback));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(200, await b.GetAsync(Host, "/on-b", IPAddress.Loopback));
        }

        // B's three requests in B's report, as A serves it.
        Dictionary<string, long> requests = [];
        await Eventually.TrueAsync(
            () =>
            {
                var (status, body) = a.AdminAsync(HttpMethod.Get, "/api/replicas/live").GetAwaiter().GetResult();
                Assert.Equal(200, status);
                using var document = JsonDocument.Parse(body);
                requests = document.RootElement.GetProperty("replicas").EnumerateArray().ToDictionary(
                    r => r.GetProperty("node").GetString()!,
                    r => r.GetProperty("report").GetProperty("routes").EnumerateArray().Sum(route => route.GetProperty("requests").GetInt64()));
                return requests.GetValueOrDefault("replica-a") >= 1 && requests.GetValueOrDefault("replica-b") >= 3;
            },
            TimeSpan.FromSeconds(15),
            "both replicas' live reports");
        Assert.Equal(["replica-a", "replica-b"], requests.Keys.Order(StringComparer.Ordinal));

        // A request to B arrives on A's stream of every replica, filtered on the server.
        using var client = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{a.AdminPort}/api/log/stream?replicas=all&kind=request&client=127.0.0.9");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ReplicaSet.OperatorToken);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var read = ReadEventsAsync(reader, timeout.Token);

        // Requests to B from 127.0.0.9, and requests to A from 127.0.0.1 that the filter leaves out, until one reaches the stream
        // (it starts at each node's end when it first reads, so the first ones may come before it).
        for (var n = 0; n < 80 && !read.IsCompleted; n++)
        {
            Assert.Equal(200, await a.GetAsync(Host, "/filtered-out", IPAddress.Loopback));
            Assert.Equal(200, await b.GetAsync(Host, "/from-b-live", IPAddress.Parse("127.0.0.9")));
            await Task.WhenAny(read, Task.Delay(250));
        }

        var (id, data) = await read;
        Assert.StartsWith("replica-b:", id, StringComparison.Ordinal);
        Assert.Contains("/from-b-live", data, StringComparison.Ordinal);
        Assert.DoesNotContain("/filtered-out", data, StringComparison.Ordinal);

        var (single, _) = await Replicas[0].AdminAsync(HttpMethod.Get, "/api/log/stream?replicas=some");
        Assert.Equal(400, single);
    }

    [Fact]
    public async Task While_Redis_does_not_answer_the_live_view_says_so_and_it_comes_back_by_itself()
    {
        var a = Replicas[0];
        await Eventually.TrueAsync(async () => (await LiveAsync(a)).Nodes.Count == 2, TimeSpan.FromSeconds(15), "both replicas' live reports");

        _set!.Redis.Pause();
        try
        {
            var (status, body) = await a.AdminAsync(HttpMethod.Get, "/api/replicas/live");
            Assert.Equal(200, status);
            using var document = JsonDocument.Parse(body);
            Assert.Empty(document.RootElement.GetProperty("replicas").EnumerateArray());
            var why = document.RootElement.GetProperty("unavailable").GetString();
            Assert.True(why?.StartsWith($"Redis {_set.Redis.Url} ", StringComparison.Ordinal) == true, why);
        }
        finally
        {
            _set.Redis.Resume();
        }

        await Eventually.TrueAsync(async () => await LiveAsync(a) is { Nodes.Count: 2, Unavailable: null }, TimeSpan.FromSeconds(20), "the live view back after Redis answers again");
    }

    /// <summary>The nodes in a replica's live view, and why it is incomplete if it says so.</summary>
    private static async Task<(List<string> Nodes, string? Unavailable)> LiveAsync(ReplicaSet.Replica replica)
    {
        var (status, body) = await replica.AdminAsync(HttpMethod.Get, "/api/replicas/live");
        Assert.Equal(200, status);
        using var document = JsonDocument.Parse(body);
        var nodes = document.RootElement.GetProperty("replicas").EnumerateArray().Select(r => r.GetProperty("node").GetString()!).ToList();
        return (nodes, document.RootElement.TryGetProperty("unavailable", out var why) ? why.GetString() : null);
    }

    /// <summary>The first event of the stream (its id and data).</summary>
    private static async Task<(string Id, string Data)> ReadEventsAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        string? id = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && id is not null)
            {
                return (id, line[6..]);
            }
        }

        throw new InvalidOperationException("the stream ended");
    }
}
