using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Nodes;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// docs/audit-log.md guarantee 6, embedded mode: when an observer of the route table or the
/// durable config append fails, nothing of the manifest change is in force; it is retried (later
/// edits wait behind it) and takes effect together with its own <c>config</c> entry, written once.
/// </summary>
public sealed class ReconcileTransactionTests
{
    [Fact]
    public async Task An_observer_failing_once_keeps_the_old_table_then_the_change_takes_effect_with_one_entry()
    {
        var observer = new FaultyObserver();
        await using var gateway = await AuditConfigTests.StartAsync(s => ReconcileFaults.Add(s, observer));
        using var failures = new ReloadFailureCounter(gateway.App.Services.GetRequiredService<IMeterFactory>());
        var old = gateway.Table.Revision;
        var mark = LastSeq(gateway);
        var committed = observer.Committed.Count;

        // The first prepare fails; the retry waits in the observer until the test has looked.
        observer.FailNext(1);
        observer.Hold();
        gateway.WriteManifest("app.yaml", AuditConfigTests.AppIngress("/v2"));
        await observer.WaitForFailuresAsync(1);
        await AssertInForceAsync(gateway, old, serves: "/v1", notYet: ["/v2"]);
        Assert.Empty(ConfigEntriesAfter(gateway, mark));

        observer.Release();
        var table = await gateway.WaitForAsync(t => t.Routes.Any(r => r.Path == "/v2"));
        var entry = Assert.Single(ConfigEntriesAfter(gateway, mark));
        Assert.Equal(old, entry.GetProperty("revisionBefore").GetString());
        Assert.Equal(table.Revision, entry.GetProperty("revisionAfter").GetString());
        Assert.Equal("one", await gateway.ServedByAsync("http://app.test/v2"));
        Assert.Equal([table.Revision], observer.Committed.Skip(committed));

        Assert.Equal(1, observer.Failures);
        Assert.Equal(1, failures.Total);
        Assert.Single(gateway.Logs.Containing(LogLevel.Error, "could not take effect: the test observer refused the change", "retried"));
        Assert.Single(gateway.Logs.Containing(LogLevel.Information, "Ingress default/app", "took effect after 2 attempts"));
    }

    [Fact]
    public async Task While_an_observer_keeps_failing_the_old_table_serves_later_edits_wait_and_readyz_warns_then_both_apply_in_order()
    {
        var observer = new FaultyObserver();
        await using var gateway = await AuditConfigTests.StartAsync(s => ReconcileFaults.Add(s, observer));
        var old = gateway.Table.Revision;
        var mark = LastSeq(gateway);
        var committed = observer.Committed.Count;
        Assert.DoesNotContain(await WarningsAsync(gateway), w => w.Contains("config change", StringComparison.Ordinal));

        observer.FailUntilReleased();
        gateway.WriteManifest("app.yaml", AuditConfigTests.AppIngress("/v2"));
        await observer.WaitForFailuresAsync(2);
        gateway.WriteManifest("app.yaml", AuditConfigTests.AppIngress("/v3"));
        await observer.WaitForFailuresAsync(observer.Failures + 4);

        await AssertInForceAsync(gateway, old, serves: "/v1", notYet: ["/v2", "/v3"]);
        Assert.Empty(ConfigEntriesAfter(gateway, mark));
        var ready = await gateway.GetAdminJsonAsync("/readyz");
        Assert.True((bool)ready["ready"]!, "the previous configuration serves: still ready");
        var warning = Assert.Single(Warnings(ready), w => w.Contains("config change", StringComparison.Ordinal));
        Assert.Contains("Ingress default/app", warning, StringComparison.Ordinal);
        Assert.Contains("the test observer refused the change", warning, StringComparison.Ordinal);

        observer.Release();
        var table = await gateway.WaitForAsync(t => t.Routes.Any(r => r.Path == "/v3"));

        // Two changes, two entries, in order: the second starts from the revision the first produced.
        var entries = ConfigEntriesAfter(gateway, mark);
        Assert.Equal(2, entries.Count);
        Assert.Equal(old, entries[0].GetProperty("revisionBefore").GetString());
        var first = entries[0].GetProperty("revisionAfter").GetString()!;
        Assert.Equal(first, entries[1].GetProperty("revisionBefore").GetString());
        Assert.Equal(table.Revision, entries[1].GetProperty("revisionAfter").GetString());
        Assert.Contains(entries[0].GetProperty("diff").EnumerateArray(), op => op.TryGetProperty("value", out var v) && v.ToString() == "/v2");
        Assert.Contains(entries[1].GetProperty("diff").EnumerateArray(), op => op.TryGetProperty("value", out var v) && v.ToString() == "/v3");
        Assert.Equal([first, table.Revision], observer.Committed.Skip(committed));

        Assert.Single(gateway.Logs.Containing(LogLevel.Error, "could not take effect"));
        Assert.DoesNotContain(await WarningsAsync(gateway), w => w.Contains("config change", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_config_append_failing_once_is_retried_without_writing_the_durable_entries_again()
    {
        var observer = new FaultyObserver();
        FaultyAuditLog? log = null;
        await using var gateway = await AuditConfigTests.StartAsync(s => ReconcileFaults.Add(s, observer, l => log = l));
        Assert.NotNull(log);
        var old = gateway.Table.Revision;
        var mark = LastSeq(gateway);

        // One batch of two objects: the first entry becomes durable, the second append fails; the retry waits in the observer.
        log.FailConfigAppends(skip: 1, fail: 1);
        observer.Hold(pass: 1);
        gateway.WriteManifest("app.yaml", Manifests.Documents(
            AuditConfigTests.AppIngress("/v2"),
            Manifests.Ingress("extra", [new HostRule("extra.test", new PathRule("/", "Prefix", "two", 80))])));
        await Eventually.TrueAsync(() => log.Failures == 1, TestGateway.Timeout, "the config append failed");
        await Eventually.TrueAsync(() => ConfigEntriesAfter(gateway, mark).Count == 1, TestGateway.Timeout, "the first entry is durable");
        await AssertInForceAsync(gateway, old, serves: "/v1", notYet: ["/v2"]);
        Assert.Equal("404", await gateway.ServedByAsync("http://extra.test/"));
        Assert.Equal("app", Assert.Single(ConfigEntriesAfter(gateway, mark)).GetProperty("object").GetProperty("name").GetString());

        observer.Release();
        var table = await gateway.WaitForAsync(t => t.Routes.Any(r => r.Ingress == "extra"));
        Assert.Equal("two", await gateway.ServedByAsync("http://extra.test/"));
        Assert.Equal("one", await gateway.ServedByAsync("http://app.test/v2"));
        var entries = ConfigEntriesAfter(gateway, mark);
        Assert.Equal(["app", "extra"], entries.Select(e => e.GetProperty("object").GetProperty("name").GetString()));
        Assert.All(entries, e => Assert.Equal(table.Revision, e.GetProperty("revisionAfter").GetString()));
        Assert.Single(gateway.Logs.Containing(LogLevel.Error, "could not take effect: fsync failed (test)"));
    }

    [Fact]
    public async Task A_change_being_retried_does_not_hold_up_shutdown_and_leaves_no_entry()
    {
        var observer = new FaultyObserver();
        var gateway = await AuditConfigTests.StartAsync(s => ReconcileFaults.Add(s, observer));
        await using (gateway)
        {
            var mark = LastSeq(gateway);
            observer.FailUntilReleased();
            gateway.WriteManifest("app.yaml", AuditConfigTests.AppIngress("/v2"));
            await observer.WaitForFailuresAsync(2);

            await gateway.StopAsync().WaitAsync(TestGateway.Timeout);
            Assert.Empty(ConfigEntriesAfter(gateway, mark));
            Assert.Equal("stop", gateway.AuditEntries()[^1].Body().GetProperty("event").GetString());
        }
    }

    private static long LastSeq(TestGateway gateway) => gateway.AuditEntries()[^1].Seq();

    private static List<JsonElement> ConfigEntriesAfter(TestGateway gateway, long seq) =>
        [.. gateway.AuditEntries().Where(e => e.Seq() > seq && e.Kind() == "config").Select(e => e.Body())];

    private static async Task AssertInForceAsync(TestGateway gateway, string revision, string serves, string[] notYet)
    {
        Assert.Equal(revision, gateway.Table.Revision);
        Assert.Equal(revision, await AuditConfigTests.RevisionAsync(gateway));
        Assert.Equal("one", await gateway.ServedByAsync("http://app.test" + serves));
        foreach (var path in notYet)
        {
            Assert.Equal("404", await gateway.ServedByAsync("http://app.test" + path));
        }
    }

    private static async Task<List<string>> WarningsAsync(TestGateway gateway) => Warnings(await gateway.GetAdminJsonAsync("/readyz"));

    private static List<string> Warnings(JsonNode ready) => [.. ready["warnings"]!.AsArray().Select(w => (string)w!)];
}
