using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using AuditGateway.Demo;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Hosting;

/// <summary>
/// A StatefulSet rollout on one replica (k8s/base/statefulset.yaml): the pod <c>auditgateway-0</c>
/// gets SIGTERM and exits, its successor starts on the same volume with the same node name and
/// continues the same chain, with a clean <c>start</c> (no <c>recovery</c>).
/// </summary>
public sealed class RolloutTests : IAsyncLifetime
{
    private const string Node = "auditgateway-0";

    private readonly string _root = Directory.CreateTempSubdirectory("auditgw-rollout-").FullName;
    private EchoBackend? _backend;

    private string Manifests => Path.Combine(_root, "manifests");

    private string Data => Path.Combine(_root, "data");

    public async Task InitializeAsync()
    {
        _backend = await EchoBackend.StartAsync("web");
        Directory.CreateDirectory(Manifests);
        File.WriteAllText(Path.Combine(Manifests, "app.yaml"), Common.Manifests.Documents(
            Common.Manifests.Backend("web", _backend.Port),
            Common.Manifests.Ingress("app", [new HostRule("app.test", new PathRule("/", "Prefix", "web", 80))])));
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
    public async Task A_replica_stopped_by_SIGTERM_and_restarted_on_its_volume_continues_its_chain_under_its_node_name()
    {
        var first = await RunAndTerminateAsync("first", 5);
        var afterFirst = AuditLogFiles.ReadEntries(Data);
        var last = afterFirst[^1];
        Assert.True(last.Kind() == "lifecycle" && last.Body().GetProperty("event").GetString() == "stop", "the first run's last entry is not a lifecycle stop: " + last);

        var second = await RunAndTerminateAsync("second", 5);
        var entries = AuditLogFiles.ReadEntries(Data);
        var lines = AuditLogFiles.ReadLines(Data);

        var zeros = new string('0', 64);
        for (var i = 0; i < entries.Count; i++)
        {
            Assert.True(entries[i].Seq() == i, $"line {i} has seq {entries[i].Seq()}");
            Assert.Equal(Node, entries[i].GetProperty("node").GetString());
            var expected = i == 0 ? zeros : Convert.ToHexStringLower(SHA256.HashData(lines[i - 1]));
            Assert.True(entries[i].GetProperty("prev").GetString() == expected, $"seq {i}: prev does not chain to line {i - 1}");
        }

        var restart = entries[afterFirst.Count];
        Assert.True(
            restart.Kind() == "lifecycle" && restart.Body().GetProperty("event").GetString() == "start",
            "the second run does not begin with a lifecycle start: " + restart);
        Assert.DoesNotContain(entries, e => e.Kind() == "lifecycle" && e.Body().GetProperty("event").GetString() == "recovery");

        var logged = entries.Where(e => e.Kind() == "request").Select(e => e.Body().GetProperty("id").GetString()).ToHashSet(StringComparer.Ordinal);
        Assert.All(first.Concat(second), id => Assert.Contains(id, logged));
        var secondRun = entries.Skip(afterFirst.Count).Where(e => e.Kind() == "request").Select(e => e.Body().GetProperty("id").GetString()).ToHashSet(StringComparer.Ordinal);
        Assert.All(second, id => Assert.Contains(id, secondRun));

        var verify = await AuditgwProcess.RunAsync(TimeSpan.FromSeconds(60), "verify", "--data", Data);
        Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);
    }

    /// <summary>Starts <c>auditgw run</c> as <see cref="Node"/>, sends <paramref name="count"/> requests, SIGTERMs it, and expects exit code 0; returns the request ids.</summary>
    private async Task<List<string>> RunAndTerminateAsync(string run, int count)
    {
        var info = AuditgwProcess.StartInfo(
            "run", "--manifests", Manifests, "--data", Data, "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0");
        info.Environment["AUDITGW_NODE"] = Node;
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            var port = await HttpPortAsync(process);
            var stdout = process.StandardOutput.ReadToEndAsync();

            var ids = new List<string>();
            using (var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TestGateway.Timeout })
            {
                for (var n = 0; n < count; n++)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://127.0.0.1:{port}/{run}/{n}"));
                    request.Headers.Host = "app.test";
                    using var response = await client.SendAsync(request);
                    Assert.Equal(200, (int)response.StatusCode);
                    var echo = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), EchoJsonContext.Default.EchoReply)!;
                    ids.Add(echo.Headers["x-request-id"]);
                }
            }

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{run} run: auditgw did not exit within 30 s of SIGTERM");
            }

            var error = await stderr;
            await stdout;
            Assert.True(process.ExitCode == 0, $"{run} run: exit code {process.ExitCode} after SIGTERM: {error}");
            return ids;
        }
        finally
        {
            // A failed step must not leave the gateway running.
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    private static async Task<int> HttpPortAsync(Process process)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            // auditgw: listening http=127.0.0.1:PORT https=… admin=… revision=…
            if (line.StartsWith("auditgw: listening http=", StringComparison.Ordinal))
            {
                var http = line.Split(' ')[2]["http=".Length..];
                return int.Parse(http[(http.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        process.Kill();
        throw new InvalidOperationException("auditgw run did not start listening");
    }
}
