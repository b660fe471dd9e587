using AuditGateway.Audit.Entries;
using AuditGateway.Reports;

namespace AuditGateway.Tests.Reports;

public sealed class ReportAggregatorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);

    private static LoggedEntry Request(long seq, DateTimeOffset ts, string client, int status = 200, string route = "r", long latency = 1000) =>
        new(seq, ts, "n", "", new RequestBody
        {
            Id = seq.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Method = "GET",
            Scheme = "http",
            Host = "h",
            Path = "/",
            Protocol = "HTTP/1.1",
            Client = new ClientEndpoint(client, 1),
            Identity = RequestIdentity.Anonymous,
            Route = new RouteRef { Id = route, Namespace = "default", Ingress = "i", Path = "/", PathType = "Prefix", Service = "s", Port = "80" },
            Revision = "sha256:0",
            Decision = new RequestDecision(Decision.Allow, route, null),
            Status = status,
            LatencyUs = latency,
            UpstreamLatencyUs = latency / 2,
        });

    private static Report Build(ReportAggregator aggregator) => aggregator.Build(new ReportSource { Mode = "log", Verification = ReportSource.Intact });

    [Fact]
    public void Keys_past_the_cap_count_under_other_and_the_report_says_so()
    {
        var aggregator = new ReportAggregator(null, null, new ReportLimits { MaxKeys = 3, MaxKeysPerRoute = 2, Top = 5 });
        for (var i = 0; i < 10; i++)
        {
            aggregator.Add(Request(i, T0, $"192.0.2.{i % 5}"));
        }

        var report = Build(aggregator);
        Assert.True(report.Source.Capped);
        var clients = report.Clients!.ToDictionary(c => c.Client, c => c.Requests);
        Assert.Equal(["(other)", "192.0.2.0", "192.0.2.1", "192.0.2.2"], clients.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(4, clients["(other)"]);
        Assert.Equal(10, clients.Values.Sum());
        var top = report.Routes!.Single().TopClients;
        Assert.Equal([("(other)", 6L), ("192.0.2.0", 2L), ("192.0.2.1", 2L)], top.Select(t => (t.Name, t.Count)));
    }

    [Fact]
    public void From_is_inclusive_and_to_exclusive()
    {
        var aggregator = new ReportAggregator(T0.AddSeconds(1), T0.AddSeconds(3), new ReportLimits());
        for (var i = 0; i < 5; i++)
        {
            aggregator.Add(Request(i, T0.AddSeconds(i), "192.0.2.1"));
        }

        var report = Build(aggregator);
        Assert.Equal((5L, 2L), (report.Source.EntriesRead, report.Source.EntriesIncluded));
        Assert.Equal((0L, 4L), (report.Source.FirstSeq!.Value, report.Source.LastSeq!.Value));
        Assert.Equal(2, report.Routes!.Single().Requests);
    }

    [Fact]
    public void The_timeline_widens_its_slices_and_keeps_every_request()
    {
        var aggregator = new ReportAggregator(null, null, new ReportLimits());
        var random = new Random(3);
        var times = Enumerable.Range(0, 5000).Select(i => T0.AddMilliseconds(i * 37)).ToList();
        for (var i = 0; i < times.Count; i++)
        {
            aggregator.Add(Request(i, times[i], "192.0.2.1", latency: random.Next(100, 100_000), route: i % 2 == 0 ? "a" : "b"));
        }

        var report = Build(aggregator);
        var slices = report.Slices!;
        Assert.Equal(T0, slices.Start);
        Assert.True(slices.Milliseconds * SliceGrid.MaxSlices >= (times[^1] - T0).TotalMilliseconds, $"{slices.Milliseconds} ms slices");
        Assert.True(slices.Milliseconds * SliceGrid.MaxSlices / 2 < (times[^1] - T0).TotalMilliseconds, $"{slices.Milliseconds} ms slices are wider than needed");
        foreach (var route in report.Routes!)
        {
            Assert.Equal(2500, route.Timeline.Sum(s => s.Requests));
            Assert.InRange(route.Timeline.Count, 2, SliceGrid.MaxSlices);
            Assert.All(route.Timeline, s => Assert.Equal(0, (s.Start - slices.Start).TotalMilliseconds % slices.Milliseconds));
            Assert.Equal(route.Latency.Max, route.Timeline.Max(s => s.Max));
        }
    }

    [Fact]
    public void Blocks_config_changes_and_statuses_are_counted()
    {
        var aggregator = new ReportAggregator(null, null, new ReportLimits());
        aggregator.Add(Request(0, T0, "192.0.2.7", status: 404));
        aggregator.Add(new LoggedEntry(1, T0, "n", "", new SecurityBody { Action = SecurityAction.Blocked, Subject = "192.0.2.7", By = "probe-path" }));
        aggregator.Add(new LoggedEntry(2, T0, "n", "", new SecurityBody { Action = SecurityAction.Unblocked, Subject = "192.0.2.7", By = "admin:a" }));
        aggregator.Add(new LoggedEntry(3, T0, "n", "", new ConfigBody
        {
            RevisionBefore = "sha256:0",
            RevisionAfter = "sha256:1",
            Object = new ObjectRef { Kind = "Ingress", Namespace = "shop", Name = "web" },
            Operation = "update",
            Actor = new ChangeActor { Username = "alice", Via = ActorSource.Admission },
            Source = ChangeSource.Kubectl,
            Diff = System.Text.Json.JsonDocument.Parse("""[{"op":"replace","path":"/spec/rules/0/host","value":"b"}]""").RootElement,
            Effect = new RouteEffect { Added = ["x"], Removed = ["y"] },
        }));

        var report = Build(aggregator);
        Assert.Equal(1, report.Clients!.Single().Blocks);
        Assert.Equal(new StatusReport(404, "4xx", 1, 0), report.Statuses!.Single());
        var change = report.Changes!.Single();
        Assert.Equal(("alice", "admission", "kubectl", "Ingress shop/web", "+x -y"), (change.Actor, change.Via, change.Source, change.Object, change.Effect));
        Assert.Contains("/spec/rules/0/host", change.Diff, StringComparison.Ordinal);
    }
}
