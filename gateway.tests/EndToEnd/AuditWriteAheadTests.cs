using AuditGateway.Audit;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;
using AuditGateway.Audit.Writer;
using AuditGateway.Routing;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// docs/audit-log.md guarantee 1: no route change takes effect before its <c>config</c> entry is
/// durable. The log is wrapped so a test can hold a config append (a disk that is slow to
/// fsync) and look at what is in force meanwhile.
/// </summary>
public sealed class AuditWriteAheadTests
{
    [Fact]
    public async Task While_the_config_entry_is_not_durable_the_old_table_serves_and_the_new_one_only_after()
    {
        GatedAuditLog? gated = null;
        await using var gateway = await AuditConfigTests.StartAsync(services => services.AddSingleton<IAuditLog>(sp =>
            gated = new GatedAuditLog(sp.GetRequiredService<AuditLogService>(), sp.GetRequiredService<RoutingState>())));
        Assert.NotNull(gated);
        var old = gateway.Table.Revision;
        Assert.Equal("one", await gateway.ServedByAsync("http://app.test/v1"));

        gated.Close();
        gateway.WriteManifest("app.yaml", AuditConfigTests.AppIngress("/v2"));
        var held = await gated.Held.WaitAsync(TestGateway.Timeout);
        Assert.Equal("app", ((ConfigBody)held.Body).Object.Name);

        // The change is decided (the held entry names the new revision) but not durable: the old table serves.
        var next = ((ConfigBody)held.Body).RevisionAfter;
        Assert.NotEqual(old, next);
        Assert.Equal(old, gateway.Table.Revision);
        Assert.Equal(old, await AuditConfigTests.RevisionAsync(gateway));
        Assert.Equal("one", await gateway.ServedByAsync("http://app.test/v1"));
        Assert.Equal("404", await gateway.ServedByAsync("http://app.test/v2"));
        Assert.Empty(AuditConfigTests.ConfigEntriesTo(gateway, next));

        gated.Open();
        await gateway.WaitForAsync(t => t.Revision == next);
        Assert.Equal("one", await gateway.ServedByAsync("http://app.test/v2"));
        Assert.Equal("404", await gateway.ServedByAsync("http://app.test/v1"));

        // At the instant the fsync completed the new table was still not in force, and its entry is on disk.
        Assert.Equal([old], gated.InForceWhenDurable);
        Assert.Single(AuditConfigTests.ConfigEntriesTo(gateway, next));
    }

    [Fact]
    public async Task A_table_is_never_in_force_before_the_config_entries_of_its_batch_are_on_disk()
    {
        await using var gateway = await AuditConfigTests.StartAsync();
        var seen = new List<(string Revision, int EntriesOnDisk)>();
        using var stop = new CancellationTokenSource();

        // Watch every swap and, right then, read the log files as an auditor would.
        var watcher = Task.Run(async () =>
        {
            var last = gateway.Table.Revision;
            while (!stop.IsCancellationRequested)
            {
                var table = await gateway.App.Routing.WaitForAsync(t => t.Revision != last, stop.Token);
                last = table.Revision;
                seen.Add((last, AuditConfigTests.ConfigEntriesTo(gateway, last).Count));
            }
        });

        string[] paths = ["/v2", "/v3", "/v4", "/v5", "/v6"];
        foreach (var path in paths)
        {
            gateway.WriteManifest("app.yaml", AuditConfigTests.AppIngress(path));
            await gateway.WaitForAsync(t => t.Routes.Any(r => r.Path == path));
        }

        await stop.CancelAsync();
        try
        {
            await watcher;
        }
        catch (OperationCanceledException)
        {
        }

        Assert.NotEmpty(seen);
        Assert.All(seen, s => Assert.True(s.EntriesOnDisk == 1, $"revision {s.Revision} was in force with {s.EntriesOnDisk} config entries on disk"));
    }

    /// <summary>Passes everything through, but config appends wait at a gate the test controls.</summary>
    private sealed class GatedAuditLog(IAuditLog inner, RoutingState routing) : IAuditLog
    {
        private readonly TaskCompletionSource<AuditEntry> _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource _gate = Opened();

        public Task<AuditEntry> Held => _held.Task;

        /// <summary>The revision in force each time a config append became durable.</summary>
        public List<string> InForceWhenDurable { get; } = [];

        public SignedCheckpoint? LatestCheckpoint => inner.LatestCheckpoint;

        public LogAvailability Availability => inner.Availability;

        public long DurableSize => inner.DurableSize;

        public void Close() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Open() => _gate.TrySetResult();

        public ValueTask EnqueueAsync(AuditEntry entry, CancellationToken cancellationToken = default) => inner.EnqueueAsync(entry, cancellationToken);

        public async Task<AuditReceipt> AppendDurableAsync(AuditEntry entry, CancellationToken cancellationToken = default)
        {
            var gate = _gate.Task;
            if (!gate.IsCompleted)
            {
                _held.TrySetResult(entry);
                await gate.WaitAsync(cancellationToken);
                var receipt = await inner.AppendDurableAsync(entry, cancellationToken);
                lock (InForceWhenDurable)
                {
                    InForceWhenDurable.Add(routing.Current.Revision);
                }

                return receipt;
            }

            return await inner.AppendDurableAsync(entry, cancellationToken);
        }

        public IAsyncEnumerable<LiveEntry> SubscribeAsync(CancellationToken cancellationToken) => inner.SubscribeAsync(cancellationToken);

        private static TaskCompletionSource Opened()
        {
            var source = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            source.SetResult();
            return source;
        }
    }
}
