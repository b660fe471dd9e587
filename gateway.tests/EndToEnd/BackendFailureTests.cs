using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using AuditGateway.Audit.Cli;
using AuditGateway.Audit.Entries;
using AuditGateway.Demo;
using AuditGateway.Proxy;
using AuditGateway.Routing;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// Endpoints that fail while their EndpointSlice still lists them: a stopped Kestrel host
/// (connection refused) and a listener that resets every connection. Safe requests are retried
/// once on the live endpoint and the failing one is skipped for a backoff (on a clock the test
/// moves); a POST with a body is not retried and gets 502 with the reason; every attempt is in
/// the request's audit entry.
/// </summary>
public sealed class BackendFailureTests
{
    private const string Url = "http://pool.test/items";

    [Fact]
    public async Task Stopped_backend_is_retried_around_then_skipped_for_a_doubling_backoff()
    {
        var doomed = await EchoBackend.StartAsync("doomed");
        await using var pool = await Pool.StartAsync(doomed.Port);
        var served = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 2; i++)
        {
            served.Add(await pool.Gateway.ServedByAsync(Url));
        }

        Assert.Equal(["doomed", "live"], served.Order(StringComparer.Ordinal));

        // The host stops; the EndpointSlice still lists it.
        await doomed.DisposeAsync();
        var first = await pool.GetAllLiveAsync("stopped-a", 6);
        var retried = Assert.Single(first, e => e["attempts"] is not null);
        pool.AssertRetriedAround(retried, doomed.Port);
        Assert.Contains("refused", (string?)retried["attempts"]![0]!["error"], StringComparison.OrdinalIgnoreCase);
        Assert.All(first, e => Assert.Equal(pool.LiveDestination, (string?)e["route"]!["destination"]));
        Assert.True(pool.Health.IsSkipped(Pool.Prefix(doomed.Port)));
        Assert.Equal(1, pool.Health.Count);
        pool.AssertTailShows(retried, doomed.Port);

        // After 10 s it is tried again (once), fails, and is skipped for 20 s.
        pool.Clock.Advance(DestinationHealth.InitialBackoff);
        pool.AssertRetriedAround(Assert.Single(await pool.GetAllLiveAsync("stopped-b", 4), e => e["attempts"] is not null), doomed.Port);
        pool.Clock.Advance(DestinationHealth.InitialBackoff);
        Assert.All(await pool.GetAllLiveAsync("stopped-c", 4), e => Assert.Null(e["attempts"]));
        pool.Clock.Advance(DestinationHealth.InitialBackoff);
        pool.AssertRetriedAround(Assert.Single(await pool.GetAllLiveAsync("stopped-d", 4), e => e["attempts"] is not null), doomed.Port);
    }

    [Fact]
    public async Task Backend_that_resets_every_connection_is_retried_around_then_skipped()
    {
        await using var resetting = ResettingListener.Start();
        await using var pool = await Pool.StartAsync(resetting.Port);
        var entries = await pool.GetAllLiveAsync("reset", 6);
        var retried = Assert.Single(entries, e => e["attempts"] is not null);
        pool.AssertRetriedAround(retried, resetting.Port);
        // The reset lands on the request's write ("Broken pipe") or on the read of the response ("reset").
        var error = (string)retried["attempts"]![0]!["error"]!;
        Assert.True(error.Contains("reset", StringComparison.OrdinalIgnoreCase) || error.Contains("Broken pipe", StringComparison.Ordinal), error);
        Assert.True(pool.Health.IsSkipped(Pool.Prefix(resetting.Port)));

        Assert.True(resetting.Accepted >= 1, "the listener was reached");

        // Within the backoff no request is sent to it again.
        Assert.All(await pool.GetAllLiveAsync("reset-later", 6), e => Assert.Null(e["attempts"]));
    }

    [Fact]
    public async Task Post_with_a_body_is_not_retried_and_gets_502_with_the_reason()
    {
        var doomed = await EchoBackend.StartAsync("doomed");
        var port = doomed.Port;
        await doomed.DisposeAsync();
        await using var pool = await Pool.StartAsync(port);

        // Round robin over two endpoints: of two POSTs, one is sent to the dead one first.
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 2; i++)
        {
            var response = await pool.SendAsync(HttpMethod.Post, $"post-{i}", new StringContent("{\"order\":1}"));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.BadGateway)
            {
                refused = response;
            }
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.BadGateway], statuses.Order());
        var reason = TestGateway.Reason(refused!);
        Assert.StartsWith($"backend 127.0.0.1:{port} failed: Request: ", reason, StringComparison.Ordinal);
        Assert.EndsWith("(not retried: the request has a body and is not idempotent)", reason, StringComparison.Ordinal);

        var entries = await Task.WhenAll(Enumerable.Range(0, 2).Select(i => pool.Gateway.WaitForRequestEntryAsync($"post-{i}")));
        var failed = Assert.Single(entries, e => (int)e["status"]! == 502);
        var attempt = Assert.Single(failed["attempts"]!.AsArray())!;
        Assert.Equal($"127.0.0.1:{port}", (string?)attempt["destination"]);
        Assert.StartsWith("Request: ", (string?)attempt["error"], StringComparison.Ordinal);
        Assert.Equal((string?)attempt["error"], (string?)failed["upstreamError"]);
        Assert.Equal($"127.0.0.1:{port}", (string?)failed["route"]!["destination"]);
        Assert.Null(Assert.Single(entries, e => (int)e["status"]! == 200)["attempts"]);
    }

    [Fact]
    public async Task Health_state_is_dropped_with_the_endpoints_that_leave_the_route_table()
    {
        await using var resetting = ResettingListener.Start();
        await using var pool = await Pool.StartAsync(resetting.Port);
        await pool.GetAllLiveAsync("before", 2);
        Assert.Equal(1, pool.Health.Count);

        // The failing endpoint leaves the slice: its state goes with it.
        pool.Gateway.WriteManifest("pool.yaml", Manifests.Pool("pool", pool.Gateway.PortOf("live")));
        await pool.Gateway.WaitForAsync(t => t.Routes.Single().Backend.Destinations.Count == 1);
        await pool.GetAllLiveAsync("after", 1);
        Assert.Equal(0, pool.Health.Count);
        Assert.False(pool.Health.IsSkipped(Pool.Prefix(resetting.Port)));
    }

    /// <summary>A gateway with one route over two endpoints: a live echo backend and <c>other</c>; health on a manual clock.</summary>
    private sealed class Pool : IAsyncDisposable
    {
        private Pool(TestGateway gateway, ManualTimeProvider clock, DestinationHealth health)
        {
            Gateway = gateway;
            Clock = clock;
            Health = health;
        }

        public TestGateway Gateway { get; }

        public ManualTimeProvider Clock { get; }

        public DestinationHealth Health { get; }

        public string LiveDestination => $"127.0.0.1:{Gateway.PortOf("live")}";

        public static async Task<Pool> StartAsync(int otherPort)
        {
            var clock = new ManualTimeProvider();
            var gateway = await TestGateway.StartAsync(
                ["live"],
                g =>
                {
                    g.WriteManifest("pool.yaml", Manifests.Pool("pool", g.PortOf("live"), otherPort));
                    g.WriteManifest("ingress.yaml", Manifests.Ingress("pool", [new HostRule("pool.test", new PathRule("/", "Prefix", "pool", 80))]));
                },
                services => services.AddSingleton(sp => new DestinationHealth(sp.GetRequiredService<RoutingState>(), clock)));
            await gateway.WaitForAsync(t => t.Routes.Any(r => r.Backend.Destinations.Count == 2));
            return new Pool(gateway, clock, gateway.App.Services.GetRequiredService<DestinationHealth>());
        }

        public static string Prefix(int port) => $"http://127.0.0.1:{port}";

        public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string userAgent, HttpContent? content = null)
        {
            using var request = new HttpRequestMessage(method, new Uri(Url)) { Content = content };
            request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
            return await Gateway.Client.SendAsync(request);
        }

        /// <summary>Sends <paramref name="count"/> GETs, each of which must be answered by the live endpoint; returns their request entries.</summary>
        public async Task<JsonObject[]> GetAllLiveAsync(string prefix, int count)
        {
            for (var i = 0; i < count; i++)
            {
                using var response = await SendAsync(HttpMethod.Get, $"{prefix}-{i}");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("live", response.Headers.GetValues("X-Backend").Single());
            }

            return await Task.WhenAll(Enumerable.Range(0, count).Select(i => Gateway.WaitForRequestEntryAsync($"{prefix}-{i}")));
        }

        /// <summary>Two attempts: the failing endpoint with its error, then the live one, which the entry names.</summary>
        public void AssertRetriedAround(JsonObject entry, int failingPort)
        {
            var attempts = entry["attempts"]!.AsArray();
            Assert.Equal(2, attempts.Count);
            Assert.Equal($"127.0.0.1:{failingPort}", (string?)attempts[0]!["destination"]);
            Assert.StartsWith("Request: ", (string?)attempts[0]!["error"], StringComparison.Ordinal);
            Assert.Equal(LiveDestination, (string?)attempts[1]!["destination"]);
            Assert.Null(attempts[1]!["error"]);
            Assert.Equal(200, (int)entry["status"]!);
            Assert.Null(entry["upstreamError"]);
            Assert.Equal(LiveDestination, (string?)entry["route"]!["destination"]);
        }

        /// <summary><c>auditgw tail</c>'s line for the entry lists both attempts.</summary>
        public void AssertTailShows(JsonObject entry, int failingPort)
        {
            var id = (string)entry["id"]!;
            var line = AuditLogFiles.ReadLines(Gateway.DataDirectory)
                .Select(l => EntryReader.Read(l))
                .Single(e => e.Body is RequestBody r && r.Id == id);
            var summary = EntrySummary.Describe(line);
            Assert.Contains($" attempt=127.0.0.1:{failingPort}(Request: ", summary, StringComparison.Ordinal);
            Assert.Contains($") attempt={LiveDestination}", summary, StringComparison.Ordinal);
        }

        public ValueTask DisposeAsync() => Gateway.DisposeAsync();
    }

    /// <summary>Accepts TCP connections on 127.0.0.1 and resets each at once (linger 0: RST, not FIN).</summary>
    private sealed class ResettingListener : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Task _loop;
        private int _accepted;

        private ResettingListener()
        {
            _listener.Start();
            _loop = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Accepted => Volatile.Read(ref _accepted);

        public static ResettingListener Start() => new();

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    using var client = await _listener.AcceptTcpClientAsync();
                    Interlocked.Increment(ref _accepted);
                    client.LingerState = new LingerOption(true, 0);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _loop;
            _listener.Dispose();
        }
    }
}
