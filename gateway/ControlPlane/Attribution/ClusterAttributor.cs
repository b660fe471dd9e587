using AuditGateway.Audit.Entries;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.ControlPlane.Attribution;

/// <summary>
/// Finds who made a change the watch delivered: the apiserver audit webhook (uid + new
/// resourceVersion), else the admission webhook (uid + replaced resourceVersion, or uid for a
/// create), waiting up to <see cref="DefaultWait"/> for the audit webhook when it is in use but has not reported yet
/// (or, with replicas, for another replica's admission report);
/// else the newest <c>managedFields</c> entry (its manager; no user is known).
/// </summary>
internal sealed class ClusterAttributor(AttributionStore store, TimeSpan? wait = null) : IChangeAttributor
{
    /// <summary>
    /// The admission webhook always reports before the watch delivers; the audit webhook reports
    /// after its batch wait (keep the apiserver's <c>--audit-webhook-batch-max-wait</c> short).
    /// </summary>
    public static readonly TimeSpan DefaultWait = TimeSpan.FromMilliseconds(250);

    private readonly TimeSpan _wait = wait ?? DefaultWait;

    public async Task<ChangeAttribution> AttributeAsync(ResourceChange change, ChangeContext context, CancellationToken cancellationToken)
    {
        var keys = KeysOf(change);
        var found = store.Find(keys);
        if (found is null && context.Via == ChangeVia.Watch && store.Fetch is { } fetch)
        {
            // Another replica's admission report is stored before that replica answers the review, so
            // before the write commits: the watch cannot deliver the change ahead of it.
            found = await fetch(keys);
        }

        if (found is null && context.Via == ChangeVia.Watch && ShouldWait())
        {
            found = await store.WaitAsync(keys, _wait, cancellationToken);
        }

        if (found is not null)
        {
            return new ChangeAttribution(found.Actor, found.Source);
        }

        var newest = SourceClassifier.Newest((change.New ?? change.Old)!.Object.Metadata);
        return change.New is null || newest?.Manager is null
            ? new ChangeAttribution(new ChangeActor { Via = ActorSource.ManagedFields }, ChangeSource.Unknown)
            : new ChangeAttribution(
                new ChangeActor { Username = newest.Manager, Via = ActorSource.ManagedFields },
                SourceClassifier.Classify(null, newest.Manager, null));
    }

    // Admission is recorded before the write commits, so on its own replica it is never late; audit events are
    // sent after it, and another replica's admission report comes through Redis.
    private bool ShouldWait() => store.LateReportsExpected;

    internal static List<AttributionKey> KeysOf(ResourceChange change)
    {
        var keys = new List<AttributionKey>(3);
        var oldMeta = change.Old?.Object.Metadata;
        var newMeta = change.New?.Object.Metadata;
        var uid = newMeta?.Uid ?? oldMeta?.Uid;
        if (uid is not null)
        {
            if (change.New is null)
            {
                keys.Add(AttributionKey.Deleted(uid));
                keys.Add(AttributionKey.Replacing(uid, "delete", oldMeta?.ResourceVersion));
            }
            else
            {
                keys.Add(AttributionKey.Produced(uid, newMeta?.ResourceVersion));
                keys.Add(change.Old is null
                    ? AttributionKey.Created(uid)
                    : AttributionKey.Replacing(uid, "update", oldMeta?.ResourceVersion));
            }
        }

        var resource = change.Key.Kind switch
        {
            ResourceKind.Ingress => "ingresses",
            ResourceKind.IngressClass => "ingressclasses",
            ResourceKind.Service => "services",
            ResourceKind.EndpointSlice => "endpointslices",
            _ => "secrets",
        };
        var ns = change.Key.Namespace.Length == 0 ? null : change.Key.Namespace;
        keys.Add(AuditWebhook.ByName(resource, ns, change.Key.Name, change.New is null));
        return keys;
    }
}
