using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Telemetry;

/// <summary>Series are bounded by the route table: a deleted route leaves the next scrape, and past the cap new label sets fold into <c>_other</c>.</summary>
public sealed class SeriesBoundTests
{
    private static string Route(string name) => $"default/{name}:{name}.test/:Prefix";

    private static string IngressFor(string name) => Manifests.Ingress(name, [new HostRule($"{name}.test", new PathRule("/", "Prefix", "shop", 80))]);

    [Fact]
    public async Task A_deleted_route_has_no_series_in_the_next_scrape()
    {
        await using var gateway = await TestGateway.StartAsync(["shop"], g =>
        {
            g.WriteManifest("shop.yaml", g.ServiceFor("shop"));
            g.WriteManifest("a.yaml", IngressFor("a"));
            g.WriteManifest("b.yaml", IngressFor("b"));
        });
        await gateway.GetEchoAsync("http://a.test/");
        await gateway.GetEchoAsync("http://b.test/");
        var before = await MetricsScrape.GetAsync(gateway);
        Assert.NotEmpty(MetricsScrape.Samples(before, $"auditgw_requests_total{{route=\"{Route("b")}\""));
        Assert.NotEmpty(MetricsScrape.Samples(before, $"auditgw_request_duration_seconds_bucket{{route=\"{Route("b")}\""));

        gateway.DeleteManifest("b.yaml");
        await gateway.WaitForAsync(t => t.Routes.All(r => r.Id != Route("b")));
        var after = await MetricsScrape.GetAsync(gateway);

        Assert.DoesNotContain($"route=\"{Route("b")}\"", after);
        Assert.Equal(1, MetricsScrape.Value(after, $"auditgw_requests_total{{route=\"{Route("a")}\",code_class=\"2xx\",decision=\"allow\"}}"));
    }

    [Fact]
    public async Task Past_max_series_per_metric_new_label_sets_fold_into_other()
    {
        string[] names = ["r1", "r2", "r3", "r4", "r5"];
        await using var gateway = new TestGateway { ConfigYaml = "telemetry:\n  maxSeriesPerMetric: 2\n" };
        await gateway.AddBackendsAsync("shop");
        gateway.WriteManifest("shop.yaml", gateway.ServiceFor("shop"));
        foreach (var name in names)
        {
            gateway.WriteManifest(name + ".yaml", IngressFor(name));
        }

        await gateway.StartAsync();
        foreach (var name in names)
        {
            await gateway.GetEchoAsync($"http://{name}.test/");
        }

        var text = await MetricsScrape.GetAsync(gateway);
        var own = MetricsScrape.Samples(text, "auditgw_requests_total{route=\"default/");
        Assert.Equal(2, own.Count);
        Assert.Equal(3, MetricsScrape.Value(text, "auditgw_requests_total{route=\"_other\",code_class=\"2xx\",decision=\"allow\"}"));
        Assert.Equal(2, MetricsScrape.Samples(text, "auditgw_request_duration_seconds_count{route=\"default/").Count);
        Assert.Equal(3, MetricsScrape.Value(text, "auditgw_request_duration_seconds_count{route=\"_other\"}"));

        // A route that leaves gives its label sets back: the next new one gets its own series.
        var first = own[0][(own[0].IndexOf("route=\"", StringComparison.Ordinal) + 7)..].Split('"')[0];
        gateway.DeleteManifest(first.Split('/', ':')[1] + ".yaml");
        gateway.WriteManifest("r6.yaml", IngressFor("r6"));
        await gateway.WaitForAsync(t => t.Routes.Any(r => r.Id == Route("r6")) && t.Routes.All(r => r.Id != first));
        await gateway.GetEchoAsync("http://r6.test/");
        var later = await MetricsScrape.GetAsync(gateway);
        Assert.Equal(1, MetricsScrape.Value(later, $"auditgw_requests_total{{route=\"{Route("r6")}\",code_class=\"2xx\",decision=\"allow\"}}"));
    }
}
