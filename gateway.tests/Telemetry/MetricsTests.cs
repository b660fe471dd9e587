using System.Text;
using System.Text.RegularExpressions;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Telemetry;

/// <summary>One gateway with two routes and known traffic: 3 allowed, 2 denied by method, 1 with no route.</summary>
public sealed class MetricsGateway : SharedGateway
{
    public const string ShopRoute = "default/shop:shop.test/:Prefix";
    public const string AdminRoute = "default/admin:admin.test/:Prefix";

    private protected override string[] Backends => ["shop"];

    private protected override void WriteManifests(TestGateway gateway) => gateway.WriteManifest("all.yaml", Manifests.Documents(
        gateway.ServiceFor("shop"),
        Manifests.Ingress("shop", [new HostRule("shop.test", new PathRule("/", "Prefix", "shop", 80))]),
        Manifests.Ingress(
            "admin",
            [new HostRule("admin.test", new PathRule("/", "Prefix", "shop", 80))],
            annotations: new Dictionary<string, string> { ["auditgateway.io/allowed-methods"] = "GET" })));

    private protected override async Task StartedAsync()
    {
        for (var i = 0; i < 3; i++)
        {
            await Gateway.GetEchoAsync("http://shop.test/item");
        }

        for (var i = 0; i < 2; i++)
        {
            using var denied = await Gateway.Client.PostAsync(new Uri("http://admin.test/x"), new StringContent(""));
            Assert.Equal(System.Net.HttpStatusCode.MethodNotAllowed, denied.StatusCode);
        }

        using var none = await Gateway.GetAsync("http://nowhere.test/");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, none.StatusCode);

        // Every request's entry durable: the audit families are in their final shape.
        await Eventually.TrueAsync(
            () => Gateway.AuditNodes().Count(e => (string?)e["kind"] == "request") == 6, TestGateway.Timeout, "six request entries");
    }
}

/// <summary><c>/metrics</c>: exactly the names, labels, units and buckets of docs/metrics.md, clean for promtool.</summary>
public sealed class MetricsTests(MetricsGateway fixture) : IClassFixture<MetricsGateway>
{
    private TestGateway Gateway => fixture.Gateway;

    [Fact]
    public async Task The_gateway_families_match_the_golden_file()
    {
        var text = await MetricsScrape.WaitForAsync(
            Gateway, t => MetricsScrape.Value(t, "auditgw_audit_entries_total{kind=\"request\"}") >= 6, "the six request entries counted");
        var actual = Shape(text, Gateway.Table.Revision);
        var golden = Path.Combine(AppContext.BaseDirectory, "Telemetry", "metrics.golden.txt");
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(Path.Combine(SourceDirectory(), "metrics.golden.txt"), actual);
            return;
        }

        Assert.True(File.Exists(golden), $"{golden} is missing; run with UPDATE_GOLDEN=1 to create it");
        Assert.Equal(File.ReadAllText(golden), actual);
    }

    [Fact]
    public async Task Requests_are_counted_by_route_status_class_and_decision()
    {
        var text = await MetricsScrape.GetAsync(Gateway);
        Assert.Equal(3, MetricsScrape.Value(text, $"auditgw_requests_total{{route=\"{MetricsGateway.ShopRoute}\",code_class=\"2xx\",decision=\"allow\"}}"));
        Assert.Equal(2, MetricsScrape.Value(text, $"auditgw_requests_total{{route=\"{MetricsGateway.AdminRoute}\",code_class=\"4xx\",decision=\"deny\"}}"));
        Assert.Equal(1, MetricsScrape.Value(text, "auditgw_requests_total{route=\"_none\",code_class=\"4xx\",decision=\"allow\"}"));
        Assert.Equal(2, MetricsScrape.Value(text, "auditgw_policy_denials_total{rule=\"allowed-methods\",decision=\"deny\"}"));
        Assert.Equal(3, MetricsScrape.Value(text, $"auditgw_request_duration_seconds_count{{route=\"{MetricsGateway.ShopRoute}\"}}"));
        Assert.Equal(3, MetricsScrape.Value(text, $"auditgw_upstream_duration_seconds_count{{route=\"{MetricsGateway.ShopRoute}\"}}"));
        Assert.Null(MetricsScrape.Value(text, $"auditgw_upstream_duration_seconds_count{{route=\"{MetricsGateway.AdminRoute}\"}}"));
        Assert.Equal(1, MetricsScrape.Value(text, $"auditgw_config_revision_info{{revision=\"{Gateway.Table.Revision}\"}}"));
        Assert.Equal(1, MetricsScrape.Value(text, "auditgw_config_last_reload_successful"));
        Assert.True(MetricsScrape.Value(text, "auditgw_config_reloads_total") >= 1);
    }

    [Fact]
    public async Task Runtime_and_process_metrics_are_there()
    {
        var text = await MetricsScrape.GetAsync(Gateway);
        Assert.Contains("\n# TYPE process_cpu_seconds_total counter\n", text);
        Assert.Contains("\n# TYPE process_resident_memory_bytes gauge\n", text);
        Assert.Contains("\n# TYPE dotnet_gc_collections_total counter\n", text);
        Assert.Contains("\n# TYPE dotnet_process_memory_working_set_bytes gauge\n", text);
        Assert.DoesNotContain("otel_scope", text);
    }

    [Fact]
    public async Task Promtool_check_metrics_is_clean()
    {
        var text = await MetricsScrape.GetAsync(Gateway);
        var (exitCode, output) = await MetricsScrape.PromtoolCheckAsync(text);
        Assert.True(exitCode == 0 && output.Length == 0, $"promtool check metrics: exit {exitCode}\n{output}");
    }

    [Fact]
    public async Task Promtool_would_catch_a_bad_exposition()
    {
        var (exitCode, output) = await MetricsScrape.PromtoolCheckAsync("# TYPE auditgw_requests counter\nauditgw_requests 1\n");
        Assert.True(exitCode != 0 && output.Contains("_total", StringComparison.Ordinal), $"exit {exitCode}: {output}");
    }

    [Fact]
    public async Task A_client_traceparent_passes_unchanged_when_tracing_is_off()
    {
        const string Parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://shop.test/traced");
        request.Headers.TryAddWithoutValidation("traceparent", Parent);
        using var response = await Gateway.Client.SendAsync(request);
        var echo = await TestGateway.ReadEchoAsync(response, "http://shop.test/traced");
        Assert.Equal(Parent, echo.Headers["traceparent"]);
    }

    /// <summary>
    /// The gateway's families without values: HELP and TYPE lines and each sample's name and labels,
    /// the revision replaced (it hashes the test's ports), the process families' comment lines kept.
    /// </summary>
    internal static string Shape(string text, string revision)
    {
        var shape = new StringBuilder();
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("# HELP auditgw_", StringComparison.Ordinal) || line.StartsWith("# TYPE auditgw_", StringComparison.Ordinal)
                || line.StartsWith("# TYPE process_", StringComparison.Ordinal))
            {
                shape.Append(line).Append('\n');
            }
            else if (line.StartsWith("auditgw_", StringComparison.Ordinal))
            {
                shape.Append(line.AsSpan(0, line.LastIndexOf(' '))).Append('\n');
            }
        }

        return Regex.Replace(shape.ToString(), Regex.Escape(revision), "<revision>");
    }

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}

/// <summary>docs/grafana-dashboard.json queries only metrics the gateway exposes, in PromQL promtool accepts.</summary>
public sealed class DashboardTests
{
    private static readonly string Root = Path.GetFullPath(Path.Combine(SourceDirectory(), "..", ".."));

    [Fact]
    public void Every_metric_the_dashboard_queries_is_in_the_golden_file()
    {
        var exposed = File.ReadAllLines(Path.Combine(SourceDirectory(), "metrics.golden.txt"))
            .Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToHashSet(StringComparer.Ordinal);
        var queried = Expressions().SelectMany(e => Regex.Matches(e, "auditgw_[a-z_]+").Select(m => Regex.Replace(m.Value, "_(bucket|sum|count)$", ""))).ToHashSet();
        Assert.NotEmpty(queried);
        Assert.All(queried, name => Assert.Contains(name, exposed));
    }

    [Fact]
    public async Task Every_dashboard_query_is_valid_promql()
    {
        var rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
        var i = 0;
        foreach (var expression in Expressions())
        {
            var promql = expression.Replace("$__rate_interval", "5m", StringComparison.Ordinal).Replace("$route", ".*", StringComparison.Ordinal);
            rules.Append($"      - record: dashboard:query{i++}\n        expr: '{promql.Replace("'", "''", StringComparison.Ordinal)}'\n");
        }

        var file = Path.Combine(Directory.CreateTempSubdirectory("auditgw-dashboard-").FullName, "rules.yml");
        await File.WriteAllTextAsync(file, rules.ToString());
        var start = new System.Diagnostics.ProcessStartInfo("promtool") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("check");
        start.ArgumentList.Add("rules");
        start.ArgumentList.Add(file);
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        Assert.True(process.ExitCode == 0, $"promtool check rules: {output}");
        Assert.Contains($"{i} rules found", output, StringComparison.Ordinal);
    }

    private static IEnumerable<string> Expressions()
    {
        var dashboard = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Root, "docs", "grafana-dashboard.json")))!;
        return dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray().Select(t => (string)t!["expr"]!));
    }

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
