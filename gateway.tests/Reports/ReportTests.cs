using System.Net;
using System.Text.Json.Nodes;
using AuditGateway.Audit.Storage;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Reports;

/// <summary>Reports over a log of real traffic (<see cref="ReportGateway"/>), read while the gateway keeps writing it.</summary>
public sealed class ReportTests(ReportGateway fixture) : IClassFixture<ReportGateway>
{
    private static readonly (string Name, double Q)[] Percentiles = [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("max", 1)];

    private TestGateway Gateway => fixture.Gateway;

    private static string RouteOf(JsonObject request) => (string?)request["route"]?["id"] ?? "(no route)";

    private async Task<JsonObject> JsonReportAsync(params string[] extra)
    {
        var (code, output, error) = await ReportGateway.RunReportAsync(["--data", Gateway.DataDirectory, "--format", "json", .. extra]);
        Assert.True(code == 0, output + error);
        return JsonNode.Parse(output)!.AsObject();
    }

    [Fact]
    public async Task Per_route_counts_statuses_denials_and_latency_percentiles_match_the_entries()
    {
        var report = await JsonReportAsync();
        var entries = ReportGateway.RequestEntries(Gateway);
        var routes = report["routes"]!.AsArray().Select(r => r!.AsObject()).ToDictionary(r => (string)r["route"]!);
        var expected = entries.GroupBy(RouteOf).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), routes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(7, routes.Count);

        foreach (var (id, requests) in expected)
        {
            var route = routes[id];
            Assert.Equal(requests.Count, (long)route["requests"]!);
            foreach (var c in new[] { 2, 3, 4, 5 })
            {
                Assert.Equal(requests.Count(r => (int)r["status"]! / 100 == c), (long)route["statuses"]![$"{c}xx"]!);
            }

            var denied = requests.Where(r => (string?)r["decision"]!["decision"] == "deny").ToList();
            Assert.Equal(denied.Count, (long)route["denied"]!);
            var rules = route["denialsByRule"]!.AsArray().ToDictionary(t => (string)t!["name"]!, t => (long)t!["count"]!);
            Assert.Equal(denied.GroupBy(r => (string)r["decision"]!["rule"]!).ToDictionary(g => g.Key, g => (long)g.Count()), rules);
            Assert.Equal(requests.Sum(r => (long)r["bytesOut"]!), (long)route["bytesOut"]!);

            AssertPercentiles(id + " total", [.. requests.Select(r => (long)r["latencyUs"]!)], route["latency"]!);
            var forwarded = requests.Where(r => r["upstreamLatencyUs"] is not null).ToList();
            AssertPercentiles(id + " upstream", [.. forwarded.Select(r => (long)r["upstreamLatencyUs"]!)], route["upstream"]!);
            AssertPercentiles(id + " overhead", [.. forwarded.Select(r => (long)r["latencyUs"]! - (long)r["upstreamLatencyUs"]!)], route["overhead"]!);
        }

        // The traffic as sent: the slow route waited 1..40 ms, so its percentiles are in the logarithmic buckets.
        var slow = routes["default/slow:slow.test/:Prefix"];
        Assert.True((long)slow["latency"]!["p50"]! > 15_000, slow.ToJsonString());
        Assert.Equal(40, (long)slow["statuses"]!["2xx"]!);
        var status = routes["default/status:status.test/:Prefix"]["statuses"]!;
        Assert.Equal((5L, 3L, 2L), ((long)status["4xx"]!, (long)status["5xx"]!, (long)status["3xx"]!));
        Assert.Equal(4, (long)routes["default/deny:deny.test/:Prefix"]["denialsByRule"]![0]!["count"]!);
        Assert.Equal("default/deny:deny-source-range:198.51.100.0/24", (string?)routes["default/deny:deny.test/:Prefix"]["denialsByRule"]![0]!["name"]);
        Assert.Equal("default/methods:allowed-methods", (string?)routes["default/methods:methods.test/:Prefix"]["denialsByRule"]![0]!["name"]);
        Assert.Equal(3, (long)routes["default/jwt:jwt.test/:Prefix"]["denied"]!);
        Assert.Equal(2, (long)routes["(no route)"]["requests"]!);
        var fastClients = routes["default/fast:fast.test/:Prefix"]["topClients"]!.AsArray();
        Assert.Equal(("192.0.2.1", 20L), ((string)fastClients[0]!["name"]!, (long)fastClients[0]!["count"]!));
        Assert.Equal(("192.0.2.2", 10L), ((string)fastClients[1]!["name"]!, (long)fastClients[1]!["count"]!));
        Assert.Equal(40, slow["timeline"]!.AsArray().Sum(s => (long)s!["requests"]!));
    }

    private static void AssertPercentiles(string what, List<long> values, JsonNode stats)
    {
        values.Sort();
        Assert.Equal(values.Count, (long)stats["count"]!);
        if (values.Count == 0)
        {
            Assert.Equal(0, (long)stats["max"]!);
            return;
        }

        foreach (var (name, q) in Percentiles)
        {
            var exact = LatencySketchTests.Exact(values, q);
            var reported = (long)stats[name]!;
            Assert.True(Math.Abs(reported - exact) <= 0.01 * exact, $"{what} {name}: reported {reported}, exact {exact} (of {values.Count})");
        }
    }

    [Fact]
    public async Task Identities_clients_and_statuses_count_what_was_sent()
    {
        var identities = (await JsonReportAsync("--by", "identity"))["identities"]!.AsArray().ToDictionary(i => (string)i!["identity"]!);
        Assert.Equal((5L, 0L), ((long)identities["alice"]!["requests"]!, (long)identities["alice"]!["denied"]!));
        Assert.Equal("default/jwt:jwt.test/:Prefix", (string?)identities["bob"]!["routes"]![0]!["name"]);
        Assert.Equal(ReportGateway.Requests - 7, (long)identities["(anonymous)"]!["requests"]!);

        var clients = (await JsonReportAsync("--by", "client"))["clients"]!.AsArray().ToDictionary(c => (string)c!["client"]!);
        Assert.Equal((4L, 4L), ((long)clients["198.51.100.7"]!["requests"]!, (long)clients["198.51.100.7"]!["denied"]!));
        Assert.Equal((20L + 2 + 3, 3L), ((long)clients["192.0.2.1"]!["requests"]!, (long)clients["192.0.2.1"]!["denied"]!));

        var statuses = (await JsonReportAsync("--by", "status"))["statuses"]!.AsArray().ToDictionary(s => (int)s!["status"]!);
        Assert.Equal(5, (long)statuses[404]!["requests"]! - 2); // and the two that matched no route
        Assert.Equal(3, (long)statuses[405]!["denied"]!);
        Assert.Equal(3, (long)statuses[401]!["requests"]!);
        Assert.Equal("5xx", (string?)statuses[500]!["class"]);
    }

    [Fact]
    public async Task The_report_states_what_it_was_computed_from()
    {
        var report = await JsonReportAsync();
        var source = report["source"]!;
        Assert.Equal("log", (string?)source["mode"]);
        Assert.Equal("intact", (string?)source["verification"]);
        Assert.Equal(0, (long)source["firstSeq"]!);
        Assert.Equal((long)source["lastSeq"]! + 1, (long)source["entriesRead"]!);
        Assert.Equal((long)source["entriesRead"]!, (long)source["entriesIncluded"]!);

        // The checkpoint named is a signed checkpoint of the log, with that size and root.
        var checkpoint = source["checkpoint"]!;
        var size = (long)checkpoint["size"]!;
        var stored = CheckpointStore.TryRead(LogLayout.CheckpointPath(Gateway.DataDirectory, size), out _)!.Checkpoint;
        Assert.Equal(Convert.ToBase64String(stored.Root), (string?)checkpoint["root"]);
        Assert.Equal(stored.Origin, (string?)checkpoint["origin"]);
        Assert.True(size >= ReportGateway.Requests && size <= (long)source["entriesRead"]!, source.ToJsonString());
        Assert.Equal((long)source["entriesRead"]! - size, (long)source["entriesAfterCheckpoint"]!);
        Assert.Contains("config changes", (await ReportGateway.RunReportAsync("--data", Gateway.DataDirectory)).Output, StringComparison.Ordinal);
        var change = report["changes"]!.AsArray()[0]!;
        Assert.Equal("file", (string?)change["via"]);
        Assert.StartsWith("[", (string?)change["diff"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task From_and_to_select_entries_by_time()
    {
        var entries = Gateway.AuditNodes().Where(e => (string?)e["kind"] == "request").ToList();
        var from = (string)entries[50]["ts"]!;
        var to = (string)entries[80]["ts"]!;
        var report = await JsonReportAsync("--from", from, "--to", to);
        var expected = entries.Count(e => string.CompareOrdinal((string)e["ts"]!, from) >= 0 && string.CompareOrdinal((string)e["ts"]!, to) < 0);
        Assert.Equal(expected, report["routes"]!.AsArray().Sum(r => (long)r!["requests"]!));
        Assert.Equal(DateTimeOffset.Parse(from, System.Globalization.CultureInfo.InvariantCulture), (DateTimeOffset)report["source"]!["from"]!);

        var future = await JsonReportAsync("--from", "2999-01-01T00:00:00Z");
        Assert.Equal(0, (long)future["source"]!["entriesIncluded"]!);
        Assert.Empty(future["routes"]!.AsArray());
        var recent = await JsonReportAsync("--from", "-1h");
        Assert.Equal(ReportGateway.Requests, recent["routes"]!.AsArray().Sum(r => (long)r!["requests"]!));
    }

    [Theory]
    [InlineData("--from", "yesterday", "auditgw report: --from 'yesterday' is not a time")]
    [InlineData("--to", "2026-12-02", "auditgw report: --to '2026-12-02' is not a time")]
    [InlineData("--by", "host", "auditgw report: --by 'host': expected route, identity, client or status")]
    [InlineData("--format", "pdf", "auditgw report: --format 'pdf': expected table, json, csv or html")]
    public async Task Bad_options_exit_2_with_one_line(string option, string value, string line)
    {
        var (code, output, error) = await ReportGateway.RunReportAsync("--data", Gateway.DataDirectory, option, value);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith(line, error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task A_tampered_log_gives_a_report_that_says_so_and_exit_1()
    {
        using var copy = new TempCopy(Gateway.DataDirectory);
        var segment = Directory.GetFiles(Path.Combine(copy.Path, "log"), "*.jsonl").Single();
        // Split on newlines and join again, so a line the writer had not finished stays as it was.
        var lines = File.ReadAllText(segment).Split('\n');
        var seq = lines.Index().First(l => l.Index > 40 && l.Item.Contains("\"kind\":\"request\"", StringComparison.Ordinal) && l.Item.Contains("\"status\":200", StringComparison.Ordinal)).Index;
        lines[seq] = lines[seq].Replace("\"status\":200", "\"status\":201", StringComparison.Ordinal);
        File.WriteAllText(segment, string.Join("\n", lines));

        var (code, output, error) = await ReportGateway.RunReportAsync("--data", copy.Path);
        Assert.True(code == 1, output + error);
        Assert.StartsWith($"TAMPERED seq={seq} reason=", output, StringComparison.Ordinal);
        Assert.StartsWith($"TAMPERED seq={seq} reason=", error, StringComparison.Ordinal);
        Assert.Contains($"verification:             TAMPERED seq={seq}", output, StringComparison.Ordinal);

        var (jsonCode, json, _) = await ReportGateway.RunReportAsync("--data", copy.Path, "--format", "json");
        Assert.Equal(1, jsonCode);
        var report = JsonNode.Parse(json)!;
        Assert.Equal("TAMPERED", (string?)report["source"]!["verification"]);
        Assert.Equal(seq, (long)report["source"]!["badSeq"]!);
        Assert.Empty(report["routes"]!.AsArray());
    }

    [Fact]
    public async Task The_admin_api_serves_reports_and_audits_who_read_them()
    {
        var routes = await fixture.AdminJsonAsync("/api/reports/routes?from=-1h");
        Assert.Equal(ReportGateway.Requests, routes["routes"]!.AsArray().Sum(r => (long)r!["requests"]!));
        Assert.Equal("intact", (string?)routes["source"]!["verification"]);
        var read = await Gateway.WaitForEntryAsync(
            e => (string?)e["kind"] == "security" && (string?)e["security"]!["reason"] == "report routes",
            "the security entry of the report read");
        Assert.Equal("admin", (string?)read["security"]!["action"]);
        Assert.Equal("admin:audit-team", (string?)read["security"]!["by"]);
        Assert.Equal("GET /api/reports/routes?from=-1h", (string?)read["security"]!["subject"]);

        var clients = await fixture.AdminJsonAsync("/api/reports/clients");
        Assert.Equal(4, (long)clients["clients"]!.AsArray().Single(c => (string?)c!["client"] == "198.51.100.7")!["denied"]!);
        Assert.Null(clients["routes"]);

        foreach (var (format, type) in new[] { ("csv", "text/csv"), ("html", "text/html") })
        {
            var (status, contentType, body) = await fixture.AdminGetAsync($"/api/reports/statuses?format={format}");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(type, contentType);
            Assert.Contains("404", body, StringComparison.Ordinal);
        }

        foreach (var (path, expected) in new[] { ("/api/reports/hosts", HttpStatusCode.NotFound), ("/api/reports/routes?from=yesterday", HttpStatusCode.BadRequest), ("/api/reports/routes?format=pdf", HttpStatusCode.BadRequest) })
        {
            Assert.Equal(expected, (await fixture.AdminGetAsync(path)).Status);
        }

        using var anonymous = await Gateway.Client.GetAsync(Gateway.AdminUri("/api/reports/routes"));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task Live_reports_since_start_count_the_same_traffic()
    {
        var live = Gateway.App.Services.GetRequiredService<AuditGateway.Reports.LiveReports>();
        await Eventually.TrueAsync(() => live.Snapshot().Routes!.Sum(r => r.Requests) == ReportGateway.Requests, TestGateway.Timeout, "the live reports saw every request");
        var report = await fixture.AdminJsonAsync("/api/reports/routes?live=true");
        Assert.Equal("live", (string?)report["source"]!["mode"]);
        Assert.Equal("not verified", (string?)report["source"]!["verification"]);
        var source = report["source"]!;
        Assert.Equal((long)source["lastSeq"]! - (long)source["firstSeq"]! + 1, (long)source["entriesRead"]!);
        Assert.Equal(0, (long)source["entriesMissed"]!);
        var fromLog = await JsonReportAsync();
        foreach (var route in fromLog["routes"]!.AsArray())
        {
            var same = report["routes"]!.AsArray().Single(r => (string?)r!["route"] == (string?)route!["route"])!;
            foreach (var field in new[] { "requests", "denied", "bytesOut" })
            {
                Assert.Equal((long)route![field]!, (long)same[field]!);
            }

            Assert.Equal(route!["latency"]!.ToJsonString(), same["latency"]!.ToJsonString());
            Assert.Equal(route["statuses"]!.ToJsonString(), same["statuses"]!.ToJsonString());
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await fixture.AdminGetAsync("/api/reports/routes?live=true&from=-1h")).Status);
    }

    /// <summary>A copy of a live data directory: checkpoints first, then the log, so no checkpoint covers more than the copied log.</summary>
    internal sealed class TempCopy : IDisposable
    {
        public TempCopy(string data)
        {
            Path = Directory.CreateTempSubdirectory("auditgw-report-").FullName;
            foreach (var folder in new[] { "keys", "checkpoints", "log" })
            {
                var target = Directory.CreateDirectory(System.IO.Path.Combine(Path, folder)).FullName;
                foreach (var file in Directory.GetFiles(System.IO.Path.Combine(data, folder)))
                {
                    using var source = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    using var copy = File.Create(System.IO.Path.Combine(target, System.IO.Path.GetFileName(file)));
                    source.CopyTo(copy);
                }
            }
        }

        public string Path { get; }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
