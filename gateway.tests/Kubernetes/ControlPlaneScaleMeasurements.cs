using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using AuditGateway.Demo;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Common.FakeApiServer;
using Xunit.Abstractions;

namespace AuditGateway.Tests.Kubernetes;

/// <summary>
/// The control plane at scale through the Kubernetes source (loadtest/README.md, "Control plane at
/// scale"): the fake API server holds N Ingresses, each with its Service and EndpointSlice, and a
/// Release-like <c>auditgw run --kubeconfig</c> child process reads it; one more Ingress is edited
/// through the API (GET, change its Exact path, PUT) and the gateway polled until the new path
/// answers. Opt-in: <c>AUDITGW_MEASURE=1 AUDITGW_SCALE_INGRESSES=10,1000,5000 AUDITGW_SCALE_EDITS=50
/// dotnet test -c Release gateway.tests --filter ControlPlaneScaleMeasurements</c>.
/// </summary>
public sealed class ControlPlaneScaleMeasurements(ITestOutputHelper output)
{
    private const string Host = "apply.scale.test";
    private const string EditedUri = "/apis/networking.k8s.io/v1/namespaces/default/ingresses/apply";

    [Measurement]
    public async Task Api_edit_to_live_route_with_n_ingresses()
    {
        var counts = (Environment.GetEnvironmentVariable("AUDITGW_SCALE_INGRESSES") ?? "10,1000,5000")
            .Split(',', StringSplitOptions.RemoveEmptyEntries).Select(n => int.Parse(n, CultureInfo.InvariantCulture));
        var edits = int.Parse(Environment.GetEnvironmentVariable("AUDITGW_SCALE_EDITS") ?? "50", CultureInfo.InvariantCulture);
        await using var backend = await EchoBackend.StartAsync("a");
        foreach (var count in counts)
        {
            output.WriteLine(await MeasureAsync(count, edits, backend.Port));
        }
    }

    private static async Task<string> MeasureAsync(int count, int edits, int backendPort)
    {
        await using var server = await FakeApiServer.StartAsync();
        void Seed(string documents)
        {
            foreach (var document in documents.Split("\n---\n", StringSplitOptions.RemoveEmptyEntries))
            {
                server.Seed(JsonNode.Parse(document)!.AsObject());
            }
        }

        for (var i = 0; i < count; i++)
        {
            Seed(Manifests.Backend($"svc-{i}", backendPort));
            Seed(Manifests.Ingress($"ing-{i}", [new HostRule($"h{i}.scale.test", new PathRule("/", "Prefix", $"svc-{i}", 80), new PathRule("/api", "Prefix", $"svc-{i}", 80))]));
        }

        Seed(Manifests.Backend("echo", backendPort));
        Seed(Manifests.Ingress("apply", [new HostRule(Host, new PathRule("/edit-0", "Exact", "echo", 80))]));

        var root = Directory.CreateTempSubdirectory("auditgw-scale-").FullName;
        var config = Path.Combine(root, "gateway.yaml");
        // The probes ask for paths that do not exist yet: probe detection would block the client.
        await File.WriteAllTextAsync(config, "policy:\n  probeDetection:\n    enabled: false\n");
        var info = AuditgwProcess.StartInfo("run", "--kubeconfig", server.KubeconfigPath, "--data", Path.Combine(root, "data"), "--config", config,
            "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0");
        var started = Stopwatch.GetTimestamp();
        using var process = Process.Start(info)!;
        try
        {
            var line = await AuditgwProcess.WaitListeningAsync(process);
            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
            var gateway = $"http://{AuditgwProcess.Listener(line, "http")}";
            await UntilAsync(() => RoutedAsync(client, gateway, "/edit-0"), TimeSpan.FromSeconds(300));
            var ready = Stopwatch.GetElapsedTime(started);

            using var api = server.CreateHttpClient();
            var samples = new List<double>();
            for (var i = 1; i <= edits; i++)
            {
                var current = (await api.GetFromJsonAsync<JsonObject>(EditedUri))!;
                current["spec"]!["rules"]![0]!["http"]!["paths"]![0]!["path"] = $"/edit-{i}";
                using var content = new StringContent(current.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
                var edit = Stopwatch.GetTimestamp();
                using var response = await api.PutAsync(new Uri(EditedUri, UriKind.Relative), content);
                response.EnsureSuccessStatusCode();
                var path = $"/edit-{i}";
                await UntilAsync(() => RoutedAsync(client, gateway, path), TimeSpan.FromSeconds(30));
                samples.Add(Stopwatch.GetElapsedTime(edit).TotalMilliseconds);
            }

            var status = await File.ReadAllLinesAsync($"/proc/{process.Id}/status");
            string Field(string name) => status.First(l => l.StartsWith(name, StringComparison.Ordinal)).Split(':')[1].Trim();
            var load = (await File.ReadAllTextAsync("/proc/loadavg")).Trim();
            samples.Sort();
            double At(double p) => samples[Math.Max(0, (int)Math.Ceiling(p * samples.Count) - 1)];
            return string.Create(CultureInfo.InvariantCulture,
                $"{count + 1} Ingresses (+{count + 1} Services, EndpointSlices): ready {ready.TotalMilliseconds:0} ms; PUT -> live n={samples.Count} "
                + $"p50={At(0.5):0.0} p99={At(0.99):0.0} max={samples[^1]:0.0} ms; VmRSS {Field("VmRSS")}, VmHWM {Field("VmHWM")}; "
                + $"load average {load}");
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<bool> RoutedAsync(HttpClient client, string gateway, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, gateway + path);
        request.Headers.Host = Host;
        try
        {
            using var response = await client.SendAsync(request);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>Polls (1 ms apart: the resolution of the measurement) until the probe holds; fails after <paramref name="bound"/>.</summary>
    private static async Task UntilAsync(Func<Task<bool>> probe, TimeSpan bound)
    {
        var since = Stopwatch.GetTimestamp();
        while (!await probe())
        {
            Assert.True(Stopwatch.GetElapsedTime(since) < bound, $"not live within {bound}");
            await Task.Delay(1);
        }
    }
}
