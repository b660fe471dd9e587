using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using AuditGateway.Redis;
using AuditGateway.Tests.Common;
using StackExchange.Redis;

namespace AuditGateway.Tests.Redis;

/// <summary>
/// <c>redis.streamEntries</c> on a real redis-server: every entry of a node's log in the Stream
/// <c>auditgw:log:&lt;node&gt;</c> with its exact line, id <c>&lt;seq&gt;-1</c>, across a restart of the
/// gateway and an outage of Redis (which comes back empty); and <c>auditgw tail --redis</c> over the
/// streams of two gateway processes, following them as new entries and new nodes appear.
/// </summary>
[Collection(ReplicaTimingTests.Name)]
public sealed class EntryStreamTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Every_entry_of_the_log_is_in_the_stream_with_its_line_in_order_and_a_restarted_gateway_goes_on_where_it_ended()
    {
        await using var redis = await RedisServer.StartAsync();
        var db = await redis.DatabaseAsync();
        // Redis is given 5 s to answer: a slow answer on a loaded machine would be an incident with entries of
        // its own, caught up after the stop entry, and this test is about the stream, not about incidents.
        await using var gateway = new TestGateway { ConfigYaml = Config(redis.Url, "  timeout: 5s\n") };
        await gateway.StartAsync();
        for (var i = 0; i < 100; i++)
        {
            using var response = await gateway.GetAsync($"http://nowhere.test/first/{i}");
            Assert.Equal(404, (int)response.StatusCode);
        }

        var node = NodeOf(gateway.DataDirectory);
        await Eventually.TrueAsync(async () => (await PollStreamAsync(db, node)).Any(e => e.Text.Contains("/first/99", StringComparison.Ordinal)), Patience, "the last request's entry in the stream");
        await gateway.StopAsync();

        // The log's stop entry is written as it closes, after the link to Redis: only it is missing.
        var lines = AuditLogFiles.ReadLines(gateway.DataDirectory);
        var streamed = await ReadStreamAsync(db, node);
        AssertLogLines(streamed, lines, firstSeq: 0);
        Assert.True(streamed.Count > 100, $"{streamed.Count} entries streamed");
        Assert.All(lines.Skip(streamed.Count), line => Assert.Equal("stop", LifecycleEvent(line)));

        await gateway.StartAsync();
        using (var response = await gateway.GetAsync("http://nowhere.test/second"))
        {
            Assert.Equal(404, (int)response.StatusCode);
        }

        await Eventually.TrueAsync(async () => (await PollStreamAsync(db, node)).Any(e => e.Text.Contains("/second", StringComparison.Ordinal)), Patience, "the second run's request in the stream");
        await gateway.StopAsync();

        var after = await ReadStreamAsync(db, node);
        AssertLogLines(after, AuditLogFiles.ReadLines(gateway.DataDirectory), firstSeq: 0);
        Assert.True(after.Count > lines.Count, $"the first run's stop entry was not caught up: {after.Count} streamed of {lines.Count}");
    }

    [Fact]
    public async Task Redis_stopped_under_traffic_and_back_empty_gets_the_newest_entries_again_without_a_gap_or_a_repeat_while_requests_are_served()
    {
        await using var redis = await RedisServer.StartAsync();
        var db = await redis.DatabaseAsync();
        await using var gateway = new TestGateway { ConfigYaml = Config(redis.Url, "  streamMaxLength: 1000\n") };
        await gateway.StartAsync();
        var node = NodeOf(gateway.DataDirectory);
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var served = 0;
        using var stopTraffic = new CancellationTokenSource();
        var traffic = Task.WhenAll(Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !stopTraffic.IsCancellationRequested; i++)
            {
                using var response = await gateway.GetAsync($"http://nowhere.test/w{worker}/{i}");
                statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
                Interlocked.Increment(ref served);
            }
        })));

        await Eventually.TrueAsync(async () => (await PollStreamAsync(db, node)).Count > 50, Patience, "entries streamed before the outage");
        // A slow answer under this load is an incident of its own, logged too: only the outage's warnings are counted.
        var warned = Warnings(gateway).Count;
        await redis.StopAsync();
        await gateway.WaitForAuditAsync(e => e.Kind() == "lifecycle" && e.Body().GetProperty("event").GetString() == "redis-down", "the redis-down entry");
        var servedAtOutage = Volatile.Read(ref served);
        await Eventually.TrueAsync(() => Volatile.Read(ref served) > servedAtOutage + 1500, Patience, "1500 requests served while Redis is down");
        await stopTraffic.CancelAsync();
        await traffic;
        await redis.StartAgainAsync();
        await gateway.WaitForAuditAsync(e => e.Kind() == "lifecycle" && e.Body().GetProperty("event").GetString() == "redis-restored", "the redis-restored entry");

        db = await redis.DatabaseAsync();
        List<byte[]> lines = [];
        List<Streamed> streamed = [];
        await Eventually.TrueAsync(
            async () =>
            {
                lines = AuditLogFiles.ReadLines(gateway.DataDirectory);
                streamed = await PollStreamAsync(db, node);
                return streamed.Count > 0 && streamed[^1].Seq == lines.Count - 1;
            },
            Patience,
            "the stream caught up with the log");

        Assert.Equal([404], statuses.Keys);
        // One warning for the whole outage, none when it began while an earlier incident had not caught up yet.
        Assert.InRange(Warnings(gateway).Count - warned, warned > 0 ? 0 : 1, 1);
        Assert.True(lines.Count > 1600, $"only {lines.Count} entries in the log");

        // Redis came back empty: the stream was filled again with the newest streamMaxLength entries of the
        // log (then the redis-restored entry, if it came after), not the whole log, nor only what followed.
        AssertLogLines(streamed, lines, firstSeq: streamed[0].Seq);
        Assert.True(streamed.Count is >= 1000 and <= 1002, $"the stream holds seq {streamed[0].Seq} to {streamed[^1].Seq}");
    }

    [Fact]
    public async Task Tail_redis_prints_the_entries_of_every_node_by_time_and_follows_new_entries_and_new_nodes()
    {
        await using var redis = await RedisServer.StartAsync();
        var db = await redis.DatabaseAsync();
        using var root = new TemporaryDirectory();
        await using var a = await ChildProcess.StartGatewayAsync(root.Path, "node-a", redis.Url);
        await using var b = await ChildProcess.StartGatewayAsync(root.Path, "node-b", redis.Url);
        await a.GetAsync("/from-a");
        await b.GetAsync("/from-b");
        try
        {
            await Eventually.TrueAsync(
                async () => (await PollStreamAsync(db, "node-a")).Any(e => e.Text.Contains("/from-a", StringComparison.Ordinal)) && (await PollStreamAsync(db, "node-b")).Any(e => e.Text.Contains("/from-b", StringComparison.Ordinal)),
                Patience,
                "both requests in their node's stream");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nnode-a:\n{a.Output()}\nnode-b:\n{b.Output()}", e);
        }

        var tail = await AuditgwProcess.RunAsync(Patience, "tail", "--redis", redis.Url);
        Assert.True(tail.ExitCode == 0, tail.Stderr);
        var printed = tail.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(printed, l => l.StartsWith("node-a ", StringComparison.Ordinal) && l.Contains("lifecycle start", StringComparison.Ordinal));
        Assert.Contains(printed, l => l.StartsWith("node-a ", StringComparison.Ordinal) && l.Contains("404 allow GET http://tail.test/from-a", StringComparison.Ordinal));
        Assert.Contains(printed, l => l.StartsWith("node-b ", StringComparison.Ordinal) && l.Contains("404 allow GET http://tail.test/from-b", StringComparison.Ordinal));
        var times = printed.Select(l => DateTimeOffset.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2], CultureInfo.InvariantCulture)).ToList();
        Assert.True(times.Zip(times.Skip(1)).All(p => p.First <= p.Second), "not merged by time:\n" + tail.Stdout);

        var requests = await AuditgwProcess.RunAsync(Patience, "tail", "--redis", redis.Url, "--kind", "request");
        Assert.Equal(2, requests.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        await using var follow = ChildProcess.Start(AuditgwProcess.StartInfo("tail", "--redis", redis.Url, "--follow"));
        await follow.WaitForLineAsync(l => l.Contains("/from-b", StringComparison.Ordinal), "the held entries");
        await a.GetAsync("/while-following");
        await follow.WaitForLineAsync(l => l.StartsWith("node-a ", StringComparison.Ordinal) && l.Contains("/while-following", StringComparison.Ordinal), "the new request's entry");

        // A node that starts streaming while tail follows: its stream is found and printed from its start.
        var start = (await ReadStreamAsync(db, "node-a"))[0];
        await db.StreamAddAsync(EntryStream.KeyPrefix + "node-c", [new NameValueEntry("seq", 0), new NameValueEntry("kind", "lifecycle"), new NameValueEntry("line", start.Line)], "0-1");
        await follow.WaitForLineAsync(l => l.StartsWith("node-c        0 ", StringComparison.Ordinal) && l.Contains("lifecycle start", StringComparison.Ordinal), "the new node's entry");
    }

    [Fact]
    public async Task Tail_redis_that_cannot_be_reached_says_so_in_one_line_and_exits_with_2()
    {
        int port;
        await using (var redis = await RedisServer.StartAsync())
        {
            port = redis.Port;
        }

        var tail = await AuditgwProcess.RunAsync(Patience, "tail", "--redis", $"redis://127.0.0.1:{port}", "--follow");
        Assert.Equal(2, tail.ExitCode);
        Assert.Equal($"auditgw tail: Redis at redis://127.0.0.1:{port}: cannot connect", tail.Stderr.Trim());
        Assert.Equal("", tail.Stdout);
    }

    private static string Config(string url, string more = "") =>
        $"redis:\n  connection: \"{url}\"\n  streamEntries: true\n{more}audit:\n  flushInterval: 10ms\n"
        + "policy:\n  probeDetection:\n    enabled: false\n"; // the tests' many 404s from one client are no probe

    private static string NodeOf(string data) => AuditLogFiles.ReadEntries(data)[0].GetProperty("node").GetString()!;

    private static string? LifecycleEvent(byte[] line)
    {
        using var document = JsonDocument.Parse(line);
        return document.RootElement.GetProperty("kind").GetString() == "lifecycle" ? document.RootElement.GetProperty("lifecycle").GetProperty("event").GetString() : null;
    }

    private static IReadOnlyList<LogLine> Warnings(TestGateway gateway) =>
        gateway.Logs.Containing(LogLevel.Warning, "Cannot append entries to the Redis stream");

    /// <summary>One entry of a node's stream, as a reader of Redis sees it.</summary>
    private sealed record Streamed(string Id, long Seq, string Kind, byte[] Line)
    {
        public string Text => Encoding.UTF8.GetString(Line);
    }

    private static async Task<List<Streamed>> ReadStreamAsync(IDatabase db, string node) =>
        [.. (await db.StreamRangeAsync(EntryStream.KeyPrefix + node)).Select(e => new Streamed((string)e.Id!, (long)e["seq"], (string)e["kind"]!, (byte[])e["line"]!))];

    /// <summary>
    /// The stream while waiting for it to fill: a read that times out (the test's own client, on a machine
    /// loaded by the gateway under test) counts as "not there yet"; the wait's own limit still fails the test.
    /// </summary>
    private static async Task<List<Streamed>> PollStreamAsync(IDatabase db, string node)
    {
        try
        {
            return await ReadStreamAsync(db, node);
        }
        catch (RedisTimeoutException)
        {
            return [];
        }
    }

    /// <summary>The stream holds the log's lines from <paramref name="firstSeq"/> on, each once, in order, with id <c>&lt;seq&gt;-1</c> and its kind.</summary>
    private static void AssertLogLines(List<Streamed> streamed, List<byte[]> lines, long firstSeq)
    {
        Assert.NotEmpty(streamed);
        for (var i = 0; i < streamed.Count; i++)
        {
            var seq = firstSeq + i;
            var entry = streamed[i];
            Assert.True(entry.Seq == seq && entry.Id == $"{seq}-1", $"stream entry {i}: id {entry.Id}, seq {entry.Seq}; expected seq {seq}");
            Assert.True(seq < lines.Count, $"the stream holds seq {seq}, the log only {lines.Count} entries");
            Assert.True(entry.Line.AsSpan().SequenceEqual(lines[(int)seq]), $"seq {seq}: the stream's line differs from the log's:\n{entry.Text}\n{Encoding.UTF8.GetString(lines[(int)seq])}");
            using var document = JsonDocument.Parse(entry.Line);
            Assert.Equal(document.RootElement.GetProperty("kind").GetString(), entry.Kind);
        }
    }

    private sealed class TemporaryDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("auditgw-stream-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    /// <summary>A child process whose output lines are kept (a gateway, or <c>tail --follow</c>); killed on dispose.</summary>
    private sealed class ChildProcess : IAsyncDisposable
    {
        private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(15) };

        private readonly Process _process;
        private readonly List<string> _lines = [];

        private ChildProcess(Process process)
        {
            _process = process;
            _process.OutputDataReceived += (_, e) => Keep(e.Data);
            _process.ErrorDataReceived += (_, e) => Keep(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public int HttpPort { get; private set; }

        public static ChildProcess Start(ProcessStartInfo info) => new(Process.Start(info)!);

        /// <summary><c>auditgw run</c> as <paramref name="node"/> with the entry stream on, no manifests, listening on ports it picks.</summary>
        public static async Task<ChildProcess> StartGatewayAsync(string root, string node, string redisUrl)
        {
            var directory = Directory.CreateDirectory(System.IO.Path.Combine(root, node)).FullName;
            var manifests = Directory.CreateDirectory(System.IO.Path.Combine(directory, "manifests")).FullName;
            var config = System.IO.Path.Combine(directory, "gateway.yaml");
            await File.WriteAllTextAsync(config, Config(redisUrl));
            var info = AuditgwProcess.StartInfo(
                "run", "--manifests", manifests, "--config", config, "--data", System.IO.Path.Combine(directory, "data"),
                "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0");
            info.Environment["AUDITGW_NODE"] = node;
            var gateway = Start(info);
            try
            {
                // auditgw: listening http=127.0.0.1:PORT https=… admin=… revision=…
                var listening = await gateway.WaitForLineAsync(l => l.StartsWith("auditgw: listening http=", StringComparison.Ordinal), node + " listening");
                var http = listening.Split(' ')[2]["http=".Length..];
                gateway.HttpPort = int.Parse(http[(http.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
                return gateway;
            }
            catch
            {
                await gateway.DisposeAsync();
                throw;
            }
        }

        /// <summary>A GET for host <c>tail.test</c>, which no route serves: the gateway answers 404 and audits it.</summary>
        public async Task GetAsync(string path)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://127.0.0.1:{HttpPort}{path}"));
            request.Headers.Host = "tail.test";
            using var response = await Http.SendAsync(request);
            Assert.Equal(404, (int)response.StatusCode);
        }

        public async Task<string> WaitForLineAsync(Func<string, bool> match, string because)
        {
            string? found = null;
            try
            {
                await Eventually.TrueAsync(
                    () =>
                    {
                        lock (_lines)
                        {
                            found = _lines.FirstOrDefault(match);
                        }

                        return found is not null || _process.HasExited;
                    },
                    Patience,
                    because);
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException(e.Message + "; output so far:\n" + Output(), e);
            }

            return found ?? throw new InvalidOperationException($"the process exited before {because}:\n{Output()}");
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
            _process.Dispose();
        }

        public string Output()
        {
            lock (_lines)
            {
                return string.Join('\n', _lines);
            }
        }

        private void Keep(string? line)
        {
            if (line is not null)
            {
                lock (_lines)
                {
                    _lines.Add(line);
                }
            }
        }
    }
}
