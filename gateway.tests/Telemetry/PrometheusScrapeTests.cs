using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Telemetry;

/// <summary>A real Prometheus (<c>/usr/bin/prometheus</c>) on loopback scrapes the gateway every second; its query API returns the traffic's counts.</summary>
public sealed class PrometheusScrapeTests
{
    private const string ShopRoute = "default/shop:shop.test/:Prefix";

    [Fact]
    public async Task Prometheus_scrapes_the_gateway_and_answers_with_the_request_counts()
    {
        await using var gateway = await TestGateway.StartAsync(["shop"], g => g.WriteManifest("all.yaml", Manifests.Documents(
            g.ServiceFor("shop"),
            Manifests.Ingress("shop", [new HostRule("shop.test", new PathRule("/", "Prefix", "shop", 80))]))));
        for (var i = 0; i < 4; i++)
        {
            await gateway.GetEchoAsync("http://shop.test/p");
        }

        using (var missing = await gateway.GetAsync("http://shop.test/p", "nowhere.test"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        await using var prometheus = PrometheusProcess.Start(gateway.App.Ports.Admin);
        var shop = await prometheus.WaitForValueAsync(
            $"auditgw_requests_total{{route=\"{ShopRoute}\",code_class=\"2xx\",decision=\"allow\"}}", v => v == 4);
        Assert.Equal(4, shop);
        Assert.Equal(1, await prometheus.WaitForValueAsync("auditgw_requests_total{route=\"_none\",code_class=\"4xx\"}", v => v == 1));
        Assert.Equal(4, await prometheus.WaitForValueAsync(
            $"auditgw_request_duration_seconds_count{{route=\"{ShopRoute}\"}}", v => v == 4));
        Assert.Equal(1, await prometheus.WaitForValueAsync("up{job=\"auditgw\"}", v => v == 1));
    }

    /// <summary>Prometheus with a temporary configuration and TSDB, killed (and its files removed) at dispose.</summary>
    private sealed class PrometheusProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _directory;
        private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };
        private readonly System.Text.StringBuilder _output = new();

        private PrometheusProcess(Process process, string directory, int port)
        {
            _process = process;
            _directory = directory;
            _http.BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        }

        public static PrometheusProcess Start(int? adminPort)
        {
            var directory = Directory.CreateTempSubdirectory("auditgw-prometheus-").FullName;
            var config = Path.Combine(directory, "prometheus.yml");
            File.WriteAllText(config, $"""
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                scrape_configs:
                  - job_name: auditgw
                    metrics_path: /metrics
                    static_configs:
                      - targets: ["127.0.0.1:{adminPort}"]
                """);
            var port = FreePort();
            var start = new ProcessStartInfo("prometheus")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var argument in new[] { $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(directory, "data")}", $"--web.listen-address=127.0.0.1:{port}" })
            {
                start.ArgumentList.Add(argument);
            }

            var process = Process.Start(start)!;
            var prometheus = new PrometheusProcess(process, directory, port);
            process.OutputDataReceived += (_, e) => prometheus.Note(e.Data);
            process.ErrorDataReceived += (_, e) => prometheus.Note(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return prometheus;
        }

        /// <summary>Queries until the instant vector's (summed) value satisfies <paramref name="accept"/>; returns it.</summary>
        public async Task<double?> WaitForValueAsync(string query, Func<double, bool> accept)
        {
            double? last = null;
            var started = Stopwatch.GetTimestamp();
            while (true)
            {
                last = await QueryAsync($"sum({query})");
                if (last is { } value && accept(value))
                {
                    return value;
                }

                if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(30) || _process.HasExited)
                {
                    string output;
                    lock (_output)
                    {
                        output = _output.ToString();
                    }

                    throw new TimeoutException($"Prometheus never answered {query} as expected (last: {last?.ToString(CultureInfo.InvariantCulture) ?? "no data"}); its log:\n{output}");
                }

                await Task.Delay(50);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
            _http.Dispose();
            Directory.Delete(_directory, recursive: true);
        }

        private async Task<double?> QueryAsync(string query)
        {
            try
            {
                var body = await _http.GetStringAsync(new Uri("api/v1/query?query=" + Uri.EscapeDataString(query), UriKind.Relative));
                var result = JsonNode.Parse(body)?["data"]?["result"]?.AsArray();
                return result is [{ } first, ..] ? double.Parse((string)first["value"]![1]!, CultureInfo.InvariantCulture) : null;
            }
            catch (HttpRequestException)
            {
                return null; // not listening yet
            }
        }

        private void Note(string? line)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
