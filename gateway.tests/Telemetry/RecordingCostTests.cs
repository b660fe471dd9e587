using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using AuditGateway.Policy;
using AuditGateway.Routing;
using AuditGateway.Telemetry;
using Xunit.Abstractions;

namespace AuditGateway.Tests.Telemetry;

/// <summary>
/// The cost of the request metrics: recording allocates nothing, and the request families of 1,000
/// routes are written well within a scrape's budget while requests are recorded (on one other thread). In the OTLP
/// collection: no OpenTelemetry SDK listens to the request meter while these run.
/// </summary>
[Collection(OtlpTests.Name)]
public sealed class RecordingCostTests(ITestOutputHelper output)
{
    private static (RequestMetrics Metrics, IngressRoute[] Routes, ServiceProvider Services) Create(int routes, int maxSeries = TelemetryOptions.DefaultMaxSeriesPerMetric)
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var state = new RoutingState();
        IngressRoute[] table = [.. Enumerable.Range(0, routes).Select(i => new IngressRoute
        {
            Id = $"default/app-{i}:app.test/p{i}:Prefix",
            Namespace = "default",
            Ingress = $"app-{i}",
            Path = $"/p{i}",
            PathType = "Prefix",
            Backend = new RouteBackend { Service = "app", Port = "80" },
        })];
        state.Swap(new RouteTable { Revision = "sha256:test", Routes = table });
        var metrics = new RequestMetrics(state, new TelemetryOptions { MaxSeriesPerMetric = maxSeries }, services.GetRequiredService<IMeterFactory>());
        return (metrics, table, services);
    }

    [Fact]
    public void Recording_a_request_allocates_nothing()
    {
        var (metrics, routes, services) = Create(10);
        using var _ = services;
        using var __ = metrics;
        const int Requests = 100_000;
        void Run()
        {
            for (var i = 0; i < Requests; i++)
            {
                metrics.Record(routes[i % routes.Length], 200 + (i % 4 * 100), (DecisionOutcome)(i % 3), i % 3 == 0 ? null : "default/app:rate-limit", 1_000 + i % 50_000, i % 2 == 0 ? 800 : null);
                metrics.Record(null, 404, DecisionOutcome.Allow, "no-route", 50, null);
            }
        }

        Run(); // every label set admitted, the code jitted
        var before = GC.GetAllocatedBytesForCurrentThread();
        var started = Stopwatch.GetTimestamp();
        Run();
        var elapsed = Stopwatch.GetElapsedTime(started);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        output.WriteLine($"{elapsed.TotalNanoseconds / (2.0 * Requests):F1} ns per recorded request, {allocated} bytes allocated for {2 * Requests}");
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task The_request_families_of_1000_routes_are_written_in_well_under_100_ms_while_requests_are_recorded()
    {
        var (metrics, routes, services) = Create(1000);
        using var _ = services;
        using var __ = metrics;
        foreach (var route in routes)
        {
            metrics.Record(route, 200, DecisionOutcome.Allow, null, 2_000, 1_500);
            metrics.Record(route, 403, DecisionOutcome.Deny, $"default/{route.Ingress}:allow-source-range", 100, null);
        }

        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 1).Select(t => Task.Run(() =>
        {
            var i = t;
            while (!stop.IsCancellationRequested)
            {
                metrics.Record(routes[i++ % routes.Length], 200, DecisionOutcome.Allow, null, 2_000, 1_500);
            }
        })).ToArray();

        var buffer = new ArrayBufferWriter<byte>();
        var times = new List<double>();
        for (var scrape = 0; scrape < 7; scrape++)
        {
            buffer.ResetWrittenCount();
            var started = Stopwatch.GetTimestamp();
            metrics.Write(new PrometheusText(buffer));
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        await stop.CancelAsync();
        await Task.WhenAll(load);
        times.Sort();
        var text = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        output.WriteLine($"1,000 routes: {buffer.WrittenCount / 1024} KiB, {text.Count(c => c == '\n')} lines, median {times[3]:F1} ms, max {times[^1]:F1} ms per write under load");
        Assert.Equal(2000, MetricsScrape.Samples(text, "auditgw_requests_total{").Count);
        Assert.Equal(1000, MetricsScrape.Samples(text, "auditgw_upstream_duration_seconds_count{").Count);
        Assert.True(times[3] < 100, $"median {times[3]:F1} ms");
    }

    [Fact]
    public void Budget_counts_label_sets_not_requests()
    {
        var (metrics, routes, services) = Create(3, maxSeries: 4);
        using var _ = services;
        using var __ = metrics;
        // Route 0 takes two label sets (2xx allow, 4xx deny), route 1 two more: the cap is reached; route 2 folds.
        foreach (var route in routes)
        {
            metrics.Record(route, 200, DecisionOutcome.Allow, null, 10, null);
            metrics.Record(route, 403, DecisionOutcome.Deny, "default/x:allowed-methods", 10, null);
        }

        var buffer = new ArrayBufferWriter<byte>();
        metrics.Write(new PrometheusText(buffer));
        var text = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        Assert.Equal(4, MetricsScrape.Samples(text, "auditgw_requests_total{route=\"default/").Count);
        Assert.Empty(MetricsScrape.Samples(text, $"auditgw_requests_total{{route=\"{routes[2].Id}\""));
        Assert.Equal(1, MetricsScrape.Value(text, "auditgw_requests_total{route=\"_other\",code_class=\"2xx\",decision=\"allow\"}"));
        Assert.Equal(1, MetricsScrape.Value(text, "auditgw_requests_total{route=\"_other\",code_class=\"4xx\",decision=\"deny\"}"));
    }
}

/// <summary>The rule ids of docs/annotations.md map to the check that made them, never to their ranges, claims or Ingresses.</summary>
public sealed class DenialRulesTests
{
    [Theory]
    [InlineData("probe-block", "probe-block")]
    [InlineData("hostile-request", "hostile-request")]
    [InlineData("config:policy.denySourceRange:10.0.0.0/8", "deny-source-range")]
    [InlineData("config:policy.allowSourceRange", "allow-source-range")]
    [InlineData("shop/web:deny-source-range:192.0.2.0/24", "deny-source-range")]
    [InlineData("shop/web:allow-source-range", "allow-source-range")]
    [InlineData("shop/web:allowed-methods", "allowed-methods")]
    [InlineData("shop/web:rate-limit", "rate-limit")]
    [InlineData("shop/web:auth:jwt", "auth")]
    [InlineData("shop/web:require-claims:scope=orders.read", "require-claims")]
    [InlineData("something-new", "other")]
    [InlineData(null, "other")]
    public void A_rule_id_becomes_the_kind_of_its_check(string? rule, string kind) =>
        Assert.Equal(kind, DenialRules.Kinds[DenialRules.KindOf(rule)]);
}
