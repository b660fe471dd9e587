using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using AuditGateway.ControlPlane;
using AuditGateway.ControlPlane.Sources;
using AuditGateway.Kubernetes.Client;
using AuditGateway.Kubernetes.Informers;
using AuditGateway.Kubernetes.Models;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Common.FakeApiServer;
using Microsoft.Extensions.Logging.Abstractions;

namespace AuditGateway.Tests.Kubernetes;

/// <summary>The informer loop and the config source against the fake API server.</summary>
public sealed class InformerTests
{
    private static readonly InformerOptions Fast = new() { PageSize = 2, InitialBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(100) };

    private static JsonObject Service(string name, string ns = "default", int port = 80) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Service",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["spec"] = new JsonObject { ["ports"] = new JsonArray(new JsonObject { ["port"] = port }) },
    };

    private static JsonObject Secret(string name, string type) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Secret",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default" },
        ["type"] = type,
    };

    /// <summary>An informer over services whose view of the world is replayed from what it delivered.</summary>
    private sealed class Harness : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _run;

        public Harness(FakeApiServer server, KubeResourceType type, InformerOptions options, TimeProvider? time = null, string? fieldSelector = null)
        {
            Client = new KubeApiClient(KubeClientConfig.FromKubeconfig(server.KubeconfigPath));
            Informer = new ResourceInformer(Client, type, fieldSelector, options, time ?? TimeProvider.System, NullLogger.Instance, (update, _) =>
            {
                lock (View)
                {
                    foreach (var c in update.Changes)
                    {
                        Changes.Enqueue(c);
                        if (c.New is null)
                        {
                            View.Remove(c.Key);
                        }
                        else
                        {
                            View[c.Key] = (string)c.New.Json["metadata"]!["resourceVersion"]!;
                        }
                    }
                }

                return ValueTask.CompletedTask;
            });
            _run = Informer.RunAsync(_stop.Token);
        }

        public KubeApiClient Client { get; }
        public ResourceInformer Informer { get; }
        public Dictionary<ObjectKey, string> View { get; } = [];
        public ConcurrentQueue<ResourceChange> Changes { get; } = new();

        public bool Has(string name)
        {
            lock (View)
            {
                return View.Keys.Any(k => k.Name == name);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _run;
            Client.Dispose();
            _stop.Dispose();
        }
    }

    [Fact]
    public async Task Initial_paged_sync_then_kubectl_add_modify_delete()
    {
        await using var server = await FakeApiServer.StartAsync();
        for (var i = 0; i < 5; i++)
        {
            server.Seed(Service($"s{i}"));
        }

        await using var h = new Harness(server, KubeResourceType.Services, Fast);
        await Eventually.TrueAsync(() => h.Informer.HasSynced && h.View.Count == 5, because: "initial sync over three pages");

        (await Kubectl.RunAsync(server, Service("added").ToJsonString(), "create", "-f", "-")).EnsureSuccess();
        await Eventually.TrueAsync(() => h.Has("added"));
        (await Kubectl.RunAsync(server, Service("added", port: 81).ToJsonString(), "replace", "-f", "-")).EnsureSuccess();
        await Eventually.TrueAsync(() => h.Changes.Any(c => c.Key.Name == "added" && c.Old is not null && c.New is not null));
        var modified = h.Changes.Last(c => c.Key.Name == "added");
        Assert.Equal(81, (int)modified.New!.Json["spec"]!["ports"]![0]!["port"]!);
        (await Kubectl.RunAsync(server, null, "delete", "service", "added")).EnsureSuccess();
        await Eventually.TrueAsync(() => !h.Has("added"));
        Assert.Equal(1, h.Informer.ListCount);
    }

    [Fact]
    public async Task Dropped_watch_resumes_from_its_resource_version_without_loss()
    {
        await using var server = await FakeApiServer.StartAsync();
        await using var h = new Harness(server, KubeResourceType.Services, Fast);
        await Eventually.TrueAsync(() => h.Informer.HasSynced && server.WatchCount == 1);

        server.Faults.DropWatches();
        server.Seed(Service("while-down-1"));
        server.Seed(Service("while-down-2"));
        await Eventually.TrueAsync(() => h.Has("while-down-1") && h.Has("while-down-2"));
        Assert.Equal(1, h.Informer.ListCount);
        Assert.True(h.Informer.WatchCount >= 2);
    }

    [Fact]
    public async Task Expired_in_stream_relists_and_emits_a_delete_for_what_vanished()
    {
        await using var server = await FakeApiServer.StartAsync();
        server.Seed(Service("keep"));
        server.Seed(Service("doomed"));
        await using var h = new Harness(server, KubeResourceType.Services, Fast);
        await Eventually.TrueAsync(() => h.View.Count == 2 && server.WatchCount == 1);

        // Deleted, history forgotten, watch dropped: the resume RV is now too old → ERROR 410 in a 200 stream.
        // The informer is kept out (500s) until the deletion has left the history.
        server.Faults.FailRequestsFor(TimeSpan.FromMinutes(1));
        server.Faults.DropWatches();
        server.Remove("Service", "default", "doomed");
        server.Faults.CompactHistory();
        server.Faults.Clear();
        await Eventually.TrueAsync(() => !h.Has("doomed"));
        Assert.True(h.Informer.ListCount >= 2);
        var delete = h.Changes.Last(c => c.Key.Name == "doomed");
        Assert.Null(delete.New);
        Assert.Equal("doomed", delete.Old!.Key.Name);
        Assert.True(h.Has("keep"));

        // And one injected ERROR 410 on a healthy watch also ends in a relist.
        var lists = h.Informer.ListCount;
        server.Faults.ExpireNextWatches(1);
        server.Faults.DropWatches();
        await Eventually.TrueAsync(() => h.Informer.ListCount > lists && server.WatchCount == 1);
    }

    [Fact]
    public async Task Repeated_expiry_relists_after_a_growing_backoff_not_in_a_hot_loop()
    {
        await using var server = await FakeApiServer.StartAsync();
        server.Seed(Service("s"));
        var time = new ManualTimeProvider();
        var initial = TimeSpan.FromSeconds(1);
        var options = Fast with { InitialBackoff = initial, MaxBackoff = TimeSpan.FromSeconds(8), WatchdogTimeout = TimeSpan.FromMinutes(5) };

        // Every watch of the first three answers ERROR 410: each relist must wait its turn.
        server.Faults.ExpireNextWatches(3);
        await using var h = new Harness(server, KubeResourceType.Services, options, time);
        var backoff = initial;
        for (var lists = 1; lists <= 3; lists++)
        {
            // The watchdog (5 min) is not what waits: a relist delay is.
            await Eventually.TrueAsync(() => h.Informer.ListCount == lists && time.NextTimerIn < TimeSpan.FromMinutes(1), because: $"relist delay {lists} armed");
            var delay = time.NextTimerIn!.Value;
            Assert.InRange(delay, backoff / 2, backoff);
            Assert.Equal(lists, h.Informer.ListCount);
            time.Advance(delay);
            backoff *= 2;
        }

        await Eventually.TrueAsync(() => h.Informer.ListCount == 4 && server.WatchCount == 1 && h.Has("s"), because: "the fourth watch is healthy");
        Assert.Equal(4, h.Informer.WatchCount);
    }

    [Fact]
    public async Task Server_errors_for_a_while_back_off_then_converge()
    {
        await using var server = await FakeApiServer.StartAsync();
        await using var h = new Harness(server, KubeResourceType.Services, Fast);
        await Eventually.TrueAsync(() => h.Informer.HasSynced && server.WatchCount == 1);

        // An outage of a number of requests, not of a time: a slow machine must not make the informer miss it.
        server.Faults.FailRequests(3);
        server.Faults.DropWatches();
        server.Seed(Service("during-outage"));
        await Eventually.TrueAsync(() => h.Has("during-outage"));
        Assert.True(h.Informer.WatchCount >= 3, $"expected retries, saw {h.Informer.WatchCount} watches");
    }

    [Fact]
    public async Task Watchdog_restarts_a_silent_watch_and_bookmarks_advance_the_resource_version()
    {
        await using var server = await FakeApiServer.StartAsync();
        var time = new ManualTimeProvider();
        var options = Fast with { WatchdogTimeout = TimeSpan.FromMinutes(5) };
        await using var h = new Harness(server, KubeResourceType.Secrets, options, time, "type=kubernetes.io/tls");
        await Eventually.TrueAsync(() => h.Informer.HasSynced && server.WatchCount == 1 && time.ActiveTimers == 1);

        // A secret the selector excludes moves the server's RV; only a bookmark tells the informer.
        server.Seed(Secret("opaque", "Opaque"));
        Assert.NotEqual(server.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), h.Informer.ResourceVersion);
        server.Faults.SendBookmarks();
        await Eventually.TrueAsync(() => h.Informer.ResourceVersion == server.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.False(h.Has("opaque"));

        time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(1, h.Informer.WatchCount);
        time.Advance(TimeSpan.FromMinutes(1));
        await Eventually.TrueAsync(() => h.Informer.WatchCount == 2 && server.WatchCount == 1);
        Assert.Equal(1, h.Informer.ListCount);

        server.Seed(Secret("tls", "kubernetes.io/tls"));
        await Eventually.TrueAsync(() => h.Has("tls"));
    }

    private sealed class RecordingSink : IConfigSink
    {
        public ConcurrentQueue<(IReadOnlyList<ResourceChange> Changes, ChangeContext Context, bool SyncedBefore)> Batches { get; } = new();
        public volatile bool Synced;

        public Task ApplyAsync(IReadOnlyList<ResourceChange> changes, ChangeContext context, CancellationToken cancellationToken)
        {
            Batches.Enqueue((changes, context, Synced));
            return Task.CompletedTask;
        }

        public void MarkSynced() => Synced = true;
    }

    [Fact]
    public async Task Config_source_syncs_all_kinds_then_delivers_watch_changes_with_tls_secrets_only()
    {
        await using var server = await FakeApiServer.StartAsync();
        server.Seed(Service("web"));
        server.Seed(Secret("cert", "kubernetes.io/tls"));
        server.Seed(Secret("token", "Opaque"));
        server.Seed(new JsonObject
        {
            ["apiVersion"] = "networking.k8s.io/v1",
            ["kind"] = "IngressClass",
            ["metadata"] = new JsonObject { ["name"] = "auditgateway" },
            ["spec"] = new JsonObject { ["controller"] = "auditgateway.io/controller" },
        });
        using var client = new KubeApiClient(KubeClientConfig.FromKubeconfig(server.KubeconfigPath));
        var source = new KubernetesConfigSource(client, TimeProvider.System, NullLoggerFactory.Instance, Fast);
        var sink = new RecordingSink();
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(sink, stop.Token);

        await Eventually.TrueAsync(() => sink.Synced);
        var initial = sink.Batches.Where(b => !b.SyncedBefore).SelectMany(b => b.Changes).Select(c => c.Key.ToString()).Order().ToList();
        Assert.Equal(["IngressClass/auditgateway", "Secret default/cert", "Service default/web"], initial);
        Assert.All(sink.Batches, b => Assert.Equal(ChangeVia.List, b.Context.Via));

        (await Kubectl.RunAsync(server, """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: web}
            spec:
              ingressClassName: auditgateway
              defaultBackend: {service: {name: web, port: {number: 80}}}
            """, "create", "-f", "-")).EnsureSuccess();
        await Eventually.TrueAsync(() => sink.Batches.Any(b => b.Changes.Any(c => c.Key.Kind == ResourceKind.Ingress)));
        var batch = sink.Batches.First(b => b.Changes.Any(c => c.Key.Kind == ResourceKind.Ingress));
        Assert.Equal(new ChangeContext(ChangeVia.Watch, null), batch.Context);
        Assert.Equal("auditgateway", (string?)batch.Changes[0].New!.Json["spec"]!["ingressClassName"]);

        await stop.CancelAsync();
        await run;
    }
}
