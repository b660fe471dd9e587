using System.Text;
using System.Text.Json.Nodes;
using AuditGateway.Audit.Entries;
using AuditGateway.ControlPlane;
using AuditGateway.ControlPlane.Attribution;
using AuditGateway.Kubernetes.Models;
using AuditGateway.Routing;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Kubernetes;

/// <summary>The audit webhook's parser, de-duplication and correlation, on the real events in fixtures/k8s-audit.</summary>
public sealed class AttributionTests
{
    private static readonly string[] FixtureFiles =
    [
        "01-eventlist-requestreceived-pod-create.json",
        "02-eventlist-responsecomplete-pod-create-requestresponse.json",
        "03-event-requestresponse-create-serviceaccount.json",
        "04-event-requestresponse-patch-pod-status.json",
        "05-event-metadata-watch-flowschemas-allowWatchBookmarks.json",
    ];

    private static string Fixture(string name) => File.ReadAllText(Path.Combine(Fixtures.Directory, "k8s-audit", name));

    /// <summary>As SOURCES.md says, an Ingress event differs only in objectRef and the embedded objects.</summary>
    private static string AsIngress(string text) => text
        .Replace("\"resource\":\"pods\"", "\"resource\":\"ingresses\",\"apiGroup\":\"networking.k8s.io\"", StringComparison.Ordinal)
        .Replace("\"resource\":\"serviceaccounts\"", "\"resource\":\"ingresses\",\"apiGroup\":\"networking.k8s.io\"", StringComparison.Ordinal);

    private static KubeResource Resource(string name, string uid, string rv, string? manager = null)
    {
        var json = new JsonObject
        {
            ["apiVersion"] = "networking.k8s.io/v1",
            ["kind"] = "Ingress",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "kube-system", ["uid"] = uid, ["resourceVersion"] = rv },
            ["spec"] = new JsonObject { ["ingressClassName"] = "auditgateway" },
        };
        if (manager is not null)
        {
            json["metadata"]!["managedFields"] = new JsonArray(new JsonObject
            {
                ["manager"] = manager, ["operation"] = "Update", ["apiVersion"] = "networking.k8s.io/v1", ["time"] = "2024-01-01T00:00:00Z",
            });
        }

        Assert.True(ResourceReader.TryRead(json, null, out var resource));
        return resource;
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(3, 1)]
    [InlineData(4, 1)]
    public void Every_fixture_parses(int index, int count)
    {
        var events = AuditEvents.Parse(Encoding.UTF8.GetBytes(Fixture(FixtureFiles[index])));
        Assert.Equal(count, events.Count);
        Assert.All(events, e => Assert.False(string.IsNullOrEmpty(e.AuditID)));
        Assert.All(events, e => Assert.NotNull(e.User?.Username));
    }

    [Fact]
    public void Log_backend_lines_parse_as_a_stream_of_events()
    {
        var lines = string.Join("\n", FixtureFiles.Skip(2).Select(f => JsonNode.Parse(Fixture(f))!.ToJsonString()));
        var events = AuditEvents.Parse(Encoding.UTF8.GetBytes(lines));
        Assert.Equal(3, events.Count);
        Assert.Equal("system:apiserver", events[2].User!.Username);
        Assert.Equal("24dba136-6715-4240-930a-44af5f078b36", events[2].User!.Uid);
    }

    [Fact]
    public void Retried_batches_are_de_duplicated_on_audit_id_and_stage()
    {
        var webhook = new AuditWebhook(new AttributionStore(TimeProvider.System), TimeProvider.System);
        var received = AuditEvents.Parse(Encoding.UTF8.GetBytes(AsIngress(Fixture(FixtureFiles[0]))));
        var completed = AuditEvents.Parse(Encoding.UTF8.GetBytes(AsIngress(Fixture(FixtureFiles[1]))));

        // Same auditID, different stages: both are new; only ResponseComplete is kept.
        Assert.Equal(new AuditWebhook.Outcome(1, 0, 0), webhook.Receive(received));
        Assert.Equal(new AuditWebhook.Outcome(1, 0, 1), webhook.Receive(completed));
        // The apiserver retries a batch: every event is a duplicate.
        Assert.Equal(new AuditWebhook.Outcome(2, 2, 0), webhook.Receive([.. received, .. completed]));
    }

    [Fact]
    public void Only_successful_writes_to_routing_inputs_are_kept()
    {
        var kept = FixtureFiles.Select(f => AuditEvents.Parse(Encoding.UTF8.GetBytes(Fixture(f))).Single()).Select(e => AuditWebhook.Keys(e).Count).ToList();
        Assert.All(kept, k => Assert.Equal(0, k)); // pods, serviceaccounts, a status patch, a watch: none is a routing input

        var ingress = AuditEvents.Parse(Encoding.UTF8.GetBytes(AsIngress(Fixture(FixtureFiles[1])))).Single();
        Assert.Equal([AttributionKey.Produced("8006453e-d338-4cb2-b16b-d619b28e2583", "961180")], AuditWebhook.Keys(ingress));
        var statusPatch = AuditEvents.Parse(Encoding.UTF8.GetBytes(AsIngress(Fixture(FixtureFiles[3])))).Single();
        Assert.Empty(AuditWebhook.Keys(statusPatch));
        Assert.Equal("kubectl-create", AuditWebhook.FieldManager(AuditEvents.Parse(Encoding.UTF8.GetBytes(Fixture(FixtureFiles[2]))).Single().RequestURI));
    }

    [Fact]
    public async Task A_watched_create_is_correlated_with_its_audit_event_by_uid_and_resource_version()
    {
        var store = new AttributionStore(TimeProvider.System);
        new AuditWebhook(store, TimeProvider.System).Receive(AuditEvents.Parse(Encoding.UTF8.GetBytes(AsIngress(Fixture(FixtureFiles[1])))));
        var attributor = new ClusterAttributor(store);
        var created = Resource("webhook-audit", "8006453e-d338-4cb2-b16b-d619b28e2583", "961180");
        var found = await attributor.AttributeAsync(new ResourceChange(created.Key, null, created), new ChangeContext(ChangeVia.Watch, null), default);

        Assert.Equal(ActorSource.AuditWebhook, found.Actor.Via);
        Assert.Equal("kubernetes-admin", found.Actor.Username);
        Assert.Equal(["system:masters", "system:authenticated"], found.Actor.Groups);
        Assert.Equal(["192.168.229.157"], found.Actor.SourceIps);
        Assert.StartsWith("kubectl/v1.20.1", found.Actor.UserAgent, StringComparison.Ordinal);
        Assert.Equal(ChangeSource.Kubectl, found.Source);

        // Another resourceVersion of the same object is another write: not this actor (managedFields fallback).
        var later = Resource("webhook-audit", "8006453e-d338-4cb2-b16b-d619b28e2583", "961999", manager: "helm");
        var other = await attributor.AttributeAsync(new ResourceChange(later.Key, created, later), new ChangeContext(ChangeVia.Watch, null), default);
        Assert.Equal(ActorSource.ManagedFields, other.Actor.Via);
        Assert.Equal("helm", other.Actor.Username);
        Assert.Equal(ChangeSource.Helm, other.Source);
    }

    [Fact]
    public async Task Admission_records_the_user_and_diff_of_allowed_writes_and_names_the_field_of_refused_ones()
    {
        var store = new AttributionStore(TimeProvider.System);
        var webhook = new AdmissionWebhook(store, new ClassOptions(), () => [], TimeProvider.System);
        var old = Resource("shop", "u-1", "7").Json;
        var next = (JsonObject)old.DeepClone();
        next["spec"] = JsonNode.Parse("""{"ingressClassName":"auditgateway","rules":[{"host":"shop.test","http":{"paths":[{"path":"/v2","pathType":"Prefix","backend":{"service":{"name":"web","port":{"number":80}}}}]}}]}""");
        Task<AdmissionReview> Review(JsonObject obj) => webhook.ReviewAsync(new AdmissionReview
        {
            Request = new AdmissionRequest
            {
                Uid = "r-1",
                Resource = new GroupVersionResource { Group = "networking.k8s.io", Version = "v1", Resource = "ingresses" },
                Operation = "UPDATE",
                UserInfo = new UserInfo { Username = "alice", Groups = ["dev"], Extra = new Dictionary<string, IReadOnlyList<string>> { ["scopes"] = ["x"] } },
                Object = obj,
                OldObject = old,
            },
        });

        var allowed = (await Review(next)).Response!;
        Assert.True(allowed.Allowed);
        Assert.Equal("r-1", allowed.Uid);
        var recorded = store.Find([AttributionKey.Replacing("u-1", "update", "7")])!;
        Assert.Equal("alice", recorded.Actor.Username);
        Assert.Equal(ActorSource.Admission, recorded.Actor.Via);
        Assert.Contains(recorded.Diff!, op => (string?)op!["path"] == "/spec/rules");

        var bad = (JsonObject)next.DeepClone();
        bad["spec"]!["rules"]![0]!["http"]!["paths"]![0]!["pathType"] = "Regex";
        var refused = (await Review(bad)).Response!;
        Assert.False(refused.Allowed);
        Assert.Equal(400, refused.Status!.Code);
        Assert.Contains("spec.rules[0].http.paths[0].pathType", refused.Status.Message, StringComparison.Ordinal);

        // Another class: allowed whatever it contains.
        bad["spec"]!["ingressClassName"] = "nginx";
        Assert.True((await Review(bad)).Response!.Allowed);
    }

    [Theory]
    [InlineData("kubectl/v1.32.4 (linux/amd64) kubernetes/abc", null, null, "Kubectl")]
    [InlineData(null, "kubectl-client-side-apply", null, "Kubectl")]
    [InlineData("Helm/3.14.0", null, null, "Helm")]
    [InlineData(null, "helm", null, "Helm")]
    [InlineData("argocd-application-controller/v2.10", null, null, "ArgoCD")]
    [InlineData(null, "argocd-controller", null, "ArgoCD")]
    [InlineData("kustomize-controller/v1.2", null, null, "Flux")]
    [InlineData(null, "helm-controller", null, "Flux")]
    [InlineData("kube-controller-manager/v1.30 (linux/amd64)", null, null, "Controller")]
    [InlineData(null, "endpointslice-controller", null, "Controller")]
    [InlineData("kubelet/v1.20.1 (linux/amd64) kubernetes/c4d7527", null, null, "Controller")]
    [InlineData("curl/8.0", null, "system:serviceaccount:kube-system:endpointslice-controller", "Controller")]
    [InlineData("curl/8.0", null, "alice", "Unknown")]
    [InlineData(null, null, null, "Unknown")]
    public void Sources_are_classified_from_user_agent_manager_and_user(string? userAgent, string? manager, string? user, string expected) =>
        Assert.Equal(Enum.Parse<ChangeSource>(expected), SourceClassifier.Classify(userAgent, manager, user));

    [Fact]
    public async Task The_store_is_bounded_and_a_waiter_wakes_when_the_webhook_reports()
    {
        var store = new AttributionStore(TimeProvider.System, capacity: 2);
        var actor = new ObservedChange(new ChangeActor { Username = "a", Via = ActorSource.AuditWebhook }, ChangeSource.Kubectl, DateTimeOffset.UtcNow);
        var waiting = store.WaitAsync([AttributionKey.Created("x")], TimeSpan.FromSeconds(10), default);
        Assert.False(waiting.IsCompleted);
        store.Record(AttributionKey.Created("x"), actor);
        Assert.Same(actor, await waiting);
        store.Record(AttributionKey.Created("y"), actor);
        store.Record(AttributionKey.Created("z"), actor);
        Assert.Equal(2, store.Count);
        Assert.Null(store.Find([AttributionKey.Created("x")]));
        Assert.Null(await store.WaitAsync([AttributionKey.Created("none")], TimeSpan.FromMilliseconds(20), default));
    }
}
