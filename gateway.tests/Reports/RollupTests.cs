using System.Text.Json;
using System.Text.Json.Nodes;
using AuditGateway.Audit.Cli;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;
using AuditGateway.Audit.Writer;
using AuditGateway.Reports;
using AuditGateway.Tests.Audit;
using AuditGateway.Tests.Common;
using Microsoft.Extensions.Logging.Abstractions;

namespace AuditGateway.Tests.Reports;

/// <summary>
/// A log of 200,000 varied entries (40 routes, 200 a second over 1,000 s) written through the real
/// writer with the gateway's <see cref="RollupMaintainer"/>: block 0 was written before the maintainer
/// started (rebuilt at its start), block 1 began before its live boundary (rebuilt), block 2 was rolled
/// up live from the writer's entries, and the incomplete last block was rolled up as far as it goes by
/// <c>auditgw rollups</c>'s code once the log was closed.
/// </summary>
public sealed class RollupLog : IAsyncLifetime, IDisposable
{
    public const int Entries = 200_000;
    public const int PerSecond = 200;

    private readonly TempDataDirectory _dir = new();

    public string Data => _dir.Path;

    public static DateTimeOffset Start { get; } = new(2026, 11, 30, 10, 0, 0, TimeSpan.Zero);

    internal static AuditEntry Entry(long i) => SampleEntries.Varied(i, Start + TimeSpan.FromTicks(i * TimeSpan.TicksPerSecond / PerSecond));

    public async Task InitializeAsync()
    {
        await WriteAsync();
        Assert.Equal(1, RollupMaintainer.Rebuild(Data, "rollup-node", durable: null));
    }

    private async Task WriteAsync()
    {
        var options = AuditTestKit.Options(Data, o => o with { NodeId = "rollup-node", SegmentMaxEntries = 50_000 });
        await using var log = await AuditLog.OpenAsync(options);
        for (var i = 0; i < 70_000; i++)
        {
            await log.EnqueueAsync(Entry(i));
        }

        await log.AppendDurableAsync(Entry(70_000));
        await using var maintainer = new RollupMaintainer(log, log, options, TimeProvider.System, NullLogger<RollupMaintainer>.Instance);
        maintainer.Start();
        for (var i = 70_001; i < Entries - 1; i++)
        {
            await log.EnqueueAsync(Entry(i));
        }

        await log.AppendDurableAsync(Entry(Entries - 1));
        await Eventually.TrueAsync(() => File.Exists(RollupStore.PathOf(Data, 131_072)), TimeSpan.FromSeconds(30), "the live block's rollup");
        maintainer.RebuildNow();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _dir.Dispose();
}

public sealed class RollupTests(RollupLog fixture) : IClassFixture<RollupLog>
{
    private static readonly string[] Exact = ["requests", "statuses", "denied", "wouldDeny", "denialsByRule", "latency", "upstream", "overhead", "bytesIn", "bytesOut"];

    private static Task<CliResult> RunAsync(params string[] args) =>
        AuditTestKit.RunAsync([.. AuditCommands.Create(RollupCheck.Create), RollupCommand.Create()], args);

    private static JsonObject Json(Report report) =>
        JsonNode.Parse(JsonSerializer.Serialize(report, ReportJsonContext.Default.Report))!.AsObject();

    private static Dictionary<string, JsonObject> Routes(JsonObject report) =>
        report["routes"]!.AsArray().Select(r => r!.AsObject()).ToDictionary(r => (string)r["route"]!);

    private static Report Compute(string data, DateTimeOffset? from, DateTimeOffset? to, bool verify) =>
        LogReport.Compute(data, publicKey: AuditCommands.LoadPublicKey(data, null), from, to, ReportKind.Routes, verify ? ReportSourceChoice.Verify : ReportSourceChoice.Rollups, new ReportLimits());

    private static long? LogReportScanned(string data) => Compute(data, null, null, verify: false).Source.EntriesScanned;

    /// <summary>A copy of the fixture's data directory that a test may damage.</summary>
    private TempDataDirectory Copy()
    {
        var copy = new TempDataDirectory();
        foreach (var file in Directory.EnumerateFiles(fixture.Data, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy.Path, Path.GetRelativePath(fixture.Data, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        return copy;
    }

    [Fact]
    public async Task Every_complete_block_has_its_rollup_whether_built_live_or_rebuilt_and_verify_recomputes_each()
    {
        Assert.Equal([0L, 65_536L, 131_072L, 196_608L], RollupStore.List(fixture.Data));
        var rollup = RollupStore.TryRead(fixture.Data, 65_536, out var problem);
        Assert.True(rollup is not null, problem);
        Assert.Equal((65_536L, 131_072L, "rollup-node"), (rollup.FirstSeq, rollup.EndSeq, rollup.Node));
        Assert.Equal(65_536L, rollup.Minutes.Sum(m => m.Entries));

        var verify = await RunAsync("verify", "--data", fixture.Data);
        Assert.True(verify.ExitCode == 0, verify.Output + verify.Error);
        Assert.Contains(" rollups=4", verify.Output, StringComparison.Ordinal);
        Assert.Equal(0, LogReportScanned(fixture.Data));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData(90.5, 700.25)]
    [InlineData(400.0, 460.0)]
    [InlineData(310.1, 320.7)]
    public void A_report_from_the_rollups_has_the_numbers_of_the_verified_scan(double? fromSecond, double? toSecond)
    {
        var from = fromSecond is { } f ? RollupLog.Start.AddSeconds(f) : (DateTimeOffset?)null;
        var to = toSecond is { } t ? RollupLog.Start.AddSeconds(t) : (DateTimeOffset?)null;
        var fast = Compute(fixture.Data, from, to, verify: false);
        var scan = Compute(fixture.Data, from, to, verify: true);
        Assert.Equal(("rollups", "log", ReportSource.Intact), (fast.Source.Mode, scan.Source.Mode, scan.Source.Verification));
        Assert.True(fast.Source.RollupBlocks > 0);
        Assert.Equal(scan.Source.EntriesIncluded, fast.Source.EntriesIncluded);
        Assert.Equal(scan.Source.EntriesRead, fast.Source.EntriesRead);

        var (a, b) = (Routes(Json(fast)), Routes(Json(scan)));
        Assert.Equal(b.Keys.Order(StringComparer.Ordinal), a.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(40, a.Count);
        foreach (var (route, expected) in b)
        {
            foreach (var field in Exact)
            {
                Assert.True(JsonNode.DeepEquals(expected[field], a[route][field]), $"{route} {field}: rollups {a[route][field]?.ToJsonString()}, scan {expected[field]?.ToJsonString()}");
            }
        }

        Assert.Equal(Json(scan)["statuses"]!.ToJsonString(), Json(fast)["statuses"]!.ToJsonString());
    }

    [Fact]
    public void The_p99_from_the_rollups_is_within_1_percent_of_the_exact_p99_of_the_entries()
    {
        var latencies = new Dictionary<string, List<long>>();
        var segments = LogLayout.Segments(fixture.Data);
        Assert.True(RollupStore.TryReadEntries(segments, 0, null, e =>
        {
            if (e.Body is RequestBody { Route: { } route } request)
            {
                (latencies.TryGetValue(route.Id, out var list) ? list : latencies[route.Id] = []).Add(request.LatencyUs);
            }
        }, out var problem), problem);

        var report = Routes(Json(Compute(fixture.Data, null, null, verify: false)));
        foreach (var (route, values) in latencies)
        {
            values.Sort();
            var exact = values[(int)Math.Floor(0.99 * (values.Count - 1))];
            var estimate = (long)report[route]["latency"]!["p99"]!;
            Assert.True(Math.Abs(estimate - exact) <= 0.01 * exact, $"{route}: p99 {estimate} from rollups, {exact} exact");
        }
    }

    [Fact]
    public async Task Verify_fails_on_a_changed_rollup_and_a_missing_one_is_rebuilt()
    {
        using var copy = Copy();
        var path = RollupStore.PathOf(copy.Path, 65_536);
        var stored = RollupStore.TryRead(copy.Path, 65_536, out _)!;
        var minute = stored.Minutes[0];
        var changed = minute with { Routes = [minute.Routes[0] with { Requests = minute.Routes[0].Requests + 1 }, .. minute.Routes.Skip(1)] };
        RollupStore.Write(copy.Path, stored with { Minutes = [changed, .. stored.Minutes.Skip(1)] });

        var tampered = await RunAsync("verify", "--data", copy.Path);
        Assert.Equal(AuditCommands.Tampered, tampered.ExitCode);
        Assert.Contains("TAMPERED seq=65536 reason=rollup/00000000000000065536.rollup does not match the entries it summarises", tampered.Output, StringComparison.Ordinal);

        File.Delete(path);
        var missing = await RunAsync("verify", "--data", copy.Path);
        Assert.True(missing.ExitCode == 0, missing.Output);
        Assert.Contains(" rollups=3", missing.Output, StringComparison.Ordinal);
        Assert.Equal(65_536, LogReportScanned(copy.Path));

        var rebuilt = await RunAsync("rollups", "--data", copy.Path);
        Assert.Equal("rollups: built 1, kept 3", rebuilt.Output.Trim());
        Assert.Equal(File.ReadAllBytes(RollupStore.PathOf(fixture.Data, 65_536)), File.ReadAllBytes(path));
    }

    [Fact]
    public async Task A_rollup_of_another_version_is_stale_not_used_and_rebuilt()
    {
        using var copy = Copy();
        var path = RollupStore.PathOf(copy.Path, 0);
        var old = File.ReadAllBytes(path);
        old[4] = 0;
        File.WriteAllBytes(path, old);

        var verify = await RunAsync("verify", "--data", copy.Path);
        Assert.True(verify.ExitCode == 0, verify.Output);
        Assert.Contains(" rollups=3 rollups-stale=1", verify.Output, StringComparison.Ordinal);
        Assert.Equal(3, Compute(copy.Path, null, null, verify: false).Source.RollupBlocks);
        Assert.Equal(1, RollupMaintainer.Rebuild(copy.Path, "rollup-node", durable: null));
        Assert.Equal(File.ReadAllBytes(RollupStore.PathOf(fixture.Data, 0)), File.ReadAllBytes(path));
    }

    [Fact]
    public async Task The_report_verb_reads_and_verifies_a_log_this_size_unless_told_to_use_the_rollups()
    {
        var auto = await ReportGateway.RunReportAsync("--data", fixture.Data, "--format", "json");
        Assert.True(auto.Code == 0, auto.Error);
        Assert.Equal(("log", ReportSource.Intact), ((string?)JsonNode.Parse(auto.Output)!["source"]!["mode"], (string?)JsonNode.Parse(auto.Output)!["source"]!["verification"]));

        var fast = await ReportGateway.RunReportAsync("--data", fixture.Data, "--rollups");
        Assert.True(fast.Code == 0, fast.Error);
        Assert.Contains("source:                   rollups", fast.Output, StringComparison.Ordinal);
        Assert.Contains("rollup blocks:            4", fast.Output, StringComparison.Ordinal);
        Assert.Contains("verification:             not verified", fast.Output, StringComparison.Ordinal);

        var both = await ReportGateway.RunReportAsync("--data", fixture.Data, "--rollups", "--verify");
        Assert.Equal((2, "auditgw report: --verify and --rollups: choose one"), (both.Code, both.Error.Trim()));
    }
}
