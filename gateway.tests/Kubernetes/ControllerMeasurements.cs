using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Common.FakeApiServer;
using Xunit.Abstractions;

namespace AuditGateway.Tests.Kubernetes;

/// <summary>
/// Numbers for the issue note, opt-in: <c>AUDITGW_MEASURE=1 dotnet test --filter ControllerMeasurements</c>
/// (skipped otherwise). Results go to the test output.
/// </summary>
public sealed class ControllerMeasurements(ITestOutputHelper output)
{
    private static string Ingress(string name, string path) =>
        Manifests.Ingress(name, [new HostRule("shop.test", new PathRule(path, "Prefix", "web", 80))]).Trim();

    private static string Percentiles(List<double> samples)
    {
        samples.Sort();
        double At(double p) => samples[Math.Min(samples.Count - 1, (int)Math.Ceiling(p * samples.Count) - 1)];
        return string.Create(CultureInfo.InvariantCulture, $"n={samples.Count} p50={At(0.50):0.0} ms p90={At(0.90):0.0} ms p99={At(0.99):0.0} ms max={samples[^1]:0.0} ms");
    }

    [Measurement]
    public async Task Kubectl_change_to_live_route_latency()
    {
        await using var cluster = await ClusterGateway.StartAsync(["web"]);
        var gateway = cluster.Gateway;
        (await cluster.KubectlAsync(ClusterGateway.ListOf(cluster.ServiceFor("web"), Ingress("shop", "/p0")), "create", "-f", "-")).EnsureSuccess();
        await gateway.WaitForRouteAsync("default/shop:shop.test/p0:Prefix");

        // 1. kubectl replace (process start to route in force): what an operator sees.
        var kubectl = new List<double>();
        for (var i = 1; i <= 60; i++)
        {
            var started = Stopwatch.GetTimestamp();
            (await cluster.KubectlAsync(Ingress("shop", $"/p{i}"), "replace", "-f", "-")).EnsureSuccess();
            await gateway.WaitForRouteAsync($"default/shop:shop.test/p{i}:Prefix");
            kubectl.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            Assert.Equal("web", await cluster.ServedByAsync($"http://shop.test/p{i}"));
        }

        // 2. The API write itself (PUT answered → route in force), without kubectl's process start.
        using var http = cluster.Server.CreateHttpClient();
        var put = new List<double>();
        var afterPut = new List<double>();
        for (var i = 100; i < 300; i++)
        {
            var current = await http.GetFromJsonAsync<JsonObject>("/apis/networking.k8s.io/v1/namespaces/default/ingresses/shop");
            current!["spec"]!["rules"]![0]!["http"]!["paths"]![0]!["path"] = $"/p{i}";
            var started = Stopwatch.GetTimestamp();
            using var content = new StringContent(current.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
            using var response = await http.PutAsync(new Uri("/apis/networking.k8s.io/v1/namespaces/default/ingresses/shop", UriKind.Relative), content);
            response.EnsureSuccessStatusCode();
            var answered = Stopwatch.GetTimestamp();
            await gateway.WaitForRouteAsync($"default/shop:shop.test/p{i}:Prefix");
            put.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            afterPut.Add(Stopwatch.GetElapsedTime(answered).TotalMilliseconds);
        }

        output.WriteLine("kubectl replace -> route in force: " + Percentiles(kubectl));
        output.WriteLine("PUT sent -> route in force:        " + Percentiles(put));
        output.WriteLine("PUT answered -> route in force:    " + Percentiles(afterPut));
        var entries = gateway.ConfigEntries().Where(e => (string?)e["object"]?["name"] == "shop").ToList();
        output.WriteLine($"config entries for shop: {entries.Count}, via: " + string.Join(", ", entries.GroupBy(e => (string?)e["actor"]!["via"]).Select(g => $"{g.Key}={g.Count()}")));
    }

    [Measurement]
    public async Task Memory_with_1000_ingresses()
    {
        foreach (var count in (int[])[0, 1000])
        {
            await using var server = await FakeApiServer.StartAsync();
            for (var i = 0; i < count; i++)
            {
                var name = $"svc-{i}";
                foreach (var document in Manifests.Backend(name, 10000 + (i % 50000)).Split("\n---\n", StringSplitOptions.RemoveEmptyEntries))
                {
                    server.Seed(JsonNode.Parse(document)!.AsObject());
                }

                var ingress = Manifests.Ingress($"ing-{i}", [new HostRule($"h{i}.example.com", new PathRule("/", "Prefix", name, 80), new PathRule("/api", "Prefix", name, 80))]);
                server.Seed(JsonNode.Parse(ingress)!.AsObject());
            }

            foreach (var gcServer in (string[])["1", "0"])
            {
                var data = Directory.CreateTempSubdirectory("auditgw-mem-").FullName;
                var info = AuditgwProcess.StartInfo("run", "--kubeconfig", server.KubeconfigPath, "--data", data, "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0");
                info.Environment["DOTNET_gcServer"] = gcServer;
                using var process = Process.Start(info)!;
                try
                {
                    var admin = AuditgwProcess.Listener(await AuditgwProcess.WaitListeningAsync(process), "admin");
                    using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
                    var started = Stopwatch.StartNew();
                    while (!(await client.GetAsync(new Uri($"http://{admin}/readyz"))).IsSuccessStatusCode)
                    {
                        Assert.True(started.Elapsed < TimeSpan.FromSeconds(60), "not ready");
                        await Task.Delay(50);
                    }

                    var ready = started.Elapsed;
                    await Task.Delay(TimeSpan.FromSeconds(3)); // let the first-sync garbage be collected
                    var status = await File.ReadAllLinesAsync($"/proc/{process.Id}/status");
                    string Field(string name) => status.First(l => l.StartsWith(name, StringComparison.Ordinal)).Split(':')[1].Trim();
                    output.WriteLine($"{count} Ingresses (+{count} Services, {count} EndpointSlices), gcServer={gcServer}: ready after {ready.TotalMilliseconds:0} ms, VmRSS {Field("VmRSS")}, VmHWM {Field("VmHWM")}");
                }
                finally
                {
                    process.Kill();
                    await process.WaitForExitAsync();
                    Directory.Delete(data, recursive: true);
                }
            }
        }
    }
}
