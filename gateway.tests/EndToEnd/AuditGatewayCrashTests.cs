using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AuditGateway.Audit.Storage;
using AuditGateway.Demo;
using AuditGateway.Tests.Audit;
using AuditGateway.Tests.Common;
using Xunit.Abstractions;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// docs/audit-log.md guarantee 2 for the whole gateway: <c>auditgw run</c> as a child process,
/// serving traffic, SIGKILLed at a random moment, restarted on the same data directory. Every
/// time: <c>verify</c> passes, <c>seq</c> is contiguous, the restart's first entry is a
/// <c>lifecycle</c> recovery or start, and no request answered well before the kill is missing.
/// Segments are small (64 KiB) and archived, so kills land while segments are being sealed,
/// compressed and copied: <c>verify --archive</c> passes too.
/// </summary>
public sealed class AuditGatewayCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Kills = 5;

    /// <summary>
    /// A request answered this long before the kill must be in the log. The guarantee is one
    /// flush interval (50 ms) plus one fsync; the rest is slack for a loaded 2-core machine, where
    /// the other test classes running alongside (and the sealer's own fsyncs) made an fsync take
    /// over 300 ms.
    /// </summary>
    private static readonly TimeSpan DurableWithin = TimeSpan.FromSeconds(1);

    private readonly string _root = Directory.CreateTempSubdirectory("auditgw-crash-").FullName;
    private EchoBackend? _backend;

    private string Manifests => Path.Combine(_root, "manifests");

    private string Data => Path.Combine(_root, "data");

    private string Archive => Path.Combine(_root, "archive");

    private string Config => Path.Combine(_root, "auditgw.yaml");

    public async Task InitializeAsync()
    {
        _backend = await EchoBackend.StartAsync("web");
        Directory.CreateDirectory(Manifests);
        File.WriteAllText(Path.Combine(Manifests, "app.yaml"), Common.Manifests.Documents(
            Common.Manifests.Backend("web", _backend.Port),
            Common.Manifests.Ingress("app", [new HostRule("app.test", new PathRule("/", "Prefix", "web", 80))])));
        Directory.CreateDirectory(Archive);
        File.WriteAllText(Config, $"audit:\n  segmentSize: 64KiB\n  archive:\n    dir: {Archive}\n");
    }

    public async Task DisposeAsync()
    {
        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task A_gateway_killed_under_traffic_restarts_on_a_log_that_verifies_and_continues()
    {
        var random = new Random(20250302);
        var before = 0;
        var answered = 0;
        var checkedForLoss = 0;
        for (var kill = 0; kill <= Kills; kill++)
        {
            await using var gateway = await GatewayProcess.StartAsync(Manifests, Data, Config);
            var lines = AuditLogFiles.ReadLines(Data);
            Assert.True(lines.Count > before, $"start {kill}: the log has {lines.Count} complete lines, {before} before the restart");
            if (kill > 0)
            {
                using var first = JsonDocument.Parse(lines[before]);
                var body = first.RootElement.GetProperty("lifecycle");
                Assert.True(
                    first.RootElement.Kind() == "lifecycle" && body.GetProperty("event").GetString() is "recovery" or "start",
                    $"start {kill}: the entry after the kill is not a lifecycle recovery or start: {first.RootElement}");
                output.WriteLine($"start {kill}: seq {before} is lifecycle {body.GetProperty("event").GetString()}, truncatedLines {body.GetProperty("truncatedLines")}");
            }

            if (kill == Kills)
            {
                break;
            }

            var (responses, killedAt) = await DriveAndKillAsync(gateway, random.Next(200, 3000));
            answered += responses.Count;

            var entries = AuditLogFiles.ReadEntries(Data);
            for (var i = 0; i < entries.Count; i++)
            {
                Assert.True(entries[i].Seq() == i, $"kill {kill}: line {i} has seq {entries[i].Seq()}");
            }

            var logged = entries.Where(e => e.Kind() == "request").Select(e => e.Body().GetProperty("id").GetString()).ToHashSet(StringComparer.Ordinal);
            var old = responses.Count(r => killedAt - r.AnsweredAt > DurableWithin);
            checkedForLoss += old;
            output.WriteLine($"kill {kill}: {responses.Count} answered in {killedAt.TotalMilliseconds:F0} ms, {old} of them before the durability window; log {entries.Count} entries");
            var lost = responses.Where(r => killedAt - r.AnsweredAt > DurableWithin && !logged.Contains(r.RequestId)).ToList();
            Assert.True(lost.Count == 0, $"kill {kill}: {lost.Count} requests answered more than {DurableWithin.TotalSeconds} s before the kill are not in the log");

            var verify = await AuditTestKit.VerifyAsync(Data);
            Assert.True(verify.ExitCode == 0, $"kill {kill}: {verify.Output}{verify.Error}");
            var archived = await AuditTestKit.VerifyAsync(Data, "--archive", Archive);
            Assert.True(archived.ExitCode == 0, $"kill {kill}, with the archive: {archived.Output}{archived.Error}");
            before = entries.Count;
        }

        Assert.True(checkedForLoss > 0, $"of {answered} requests answered, none was answered long enough before a kill to check it was durable");
        var sealedSegments = LogLayout.Segments(Data).Count(s => s.Compressed);
        Assert.True(sealedSegments >= Kills, $"only {sealedSegments} segments were sealed: the kills did not meet sealing");
        var final = await AuditgwProcess.RunAsync(TimeSpan.FromSeconds(30), "verify", "--data", Data);
        Assert.True(final.ExitCode == 0, final.Stdout + final.Stderr);
    }

    private sealed record Answered(string RequestId, TimeSpan AnsweredAt);

    /// <summary>
    /// Four clients send requests until <paramref name="count"/> are answered and the first answer is
    /// twice the durability window old, then the gateway is SIGKILLed while they keep sending.
    /// </summary>
    private static async Task<(List<Answered> Responses, TimeSpan KilledAt)> DriveAndKillAsync(GatewayProcess gateway, int count)
    {
        var clock = Stopwatch.StartNew();
        var responses = new List<Answered>();
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TestGateway.Timeout };

        async Task WorkerAsync(int worker)
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://127.0.0.1:{gateway.HttpPort}/w{worker}/{n}"));
                request.Headers.Host = "app.test";
                try
                {
                    using var response = await client.SendAsync(request, stop.Token);
                    var echo = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(stop.Token), EchoJsonContext.Default.EchoReply)!;
                    lock (responses)
                    {
                        responses.Add(new Answered(echo.Headers["x-request-id"], clock.Elapsed));
                        // At least count answers, and some old enough to have to be durable by the kill.
                        if (responses.Count >= count && clock.Elapsed - responses[0].AnsweredAt > 2 * DurableWithin)
                        {
                            enough.TrySetResult();
                        }
                    }
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
                {
                    // The gateway is gone: the kill happened.
                    return;
                }
            }
        }

        var workers = Enumerable.Range(0, 4).Select(WorkerAsync).ToArray();
        await enough.Task.WaitAsync(TimeSpan.FromSeconds(30));
        gateway.Kill();
        var killedAt = clock.Elapsed;
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        lock (responses)
        {
            return ([.. responses], killedAt);
        }
    }

    /// <summary><c>auditgw run</c> as a child process on loopback ports it picks itself.</summary>
    private sealed class GatewayProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Task _drain;

        private GatewayProcess(Process process, int httpPort, Task drain)
        {
            _process = process;
            HttpPort = httpPort;
            _drain = drain;
        }

        public int HttpPort { get; }

        public static async Task<GatewayProcess> StartAsync(string manifests, string data, string config)
        {
            var process = Process.Start(AuditgwProcess.StartInfo(
                "run", "--config", config, "--manifests", manifests, "--data", data, "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0"))!;
            var stderr = process.StandardError.ReadToEndAsync();
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
                {
                    // auditgw: listening http=127.0.0.1:PORT https=… admin=… revision=…
                    if (line.StartsWith("auditgw: listening http=", StringComparison.Ordinal))
                    {
                        var http = line.Split(' ')[2]["http=".Length..];
                        var port = int.Parse(http[(http.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
                        var drain = Task.WhenAll(process.StandardOutput.ReadToEndAsync(), stderr);
                        return new GatewayProcess(process, port, drain);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }

            process.Kill();
            await process.WaitForExitAsync();
            var error = await stderr;
            process.Dispose();
            throw new InvalidOperationException("auditgw run did not start listening: " + error);
        }

        /// <summary>SIGKILL: no shutdown hook runs, nothing is flushed.</summary>
        public void Kill()
        {
            _process.Kill();
            _process.WaitForExit();
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                Kill();
            }

            await _drain;
            _process.Dispose();
        }
    }
}
