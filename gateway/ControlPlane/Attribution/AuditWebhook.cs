using AuditGateway.Audit.Entries;

namespace AuditGateway.ControlPlane.Attribution;

/// <summary>
/// The apiserver audit webhook (<c>POST /k8s/audit</c>): keeps the <c>ResponseComplete</c> events of
/// successful writes to routing inputs, de-duplicated on auditID + stage (the apiserver retries
/// whole batches), and records who made each one in the <see cref="AttributionStore"/>.
/// </summary>
internal sealed class AuditWebhook(AttributionStore store, TimeProvider time, int dedupCapacity = 16384)
{
    private static readonly HashSet<string> Resources = new(StringComparer.Ordinal)
    {
        "ingresses", "ingressclasses", "services", "endpointslices", "secrets",
    };

    private static readonly HashSet<string> Verbs = new(StringComparer.Ordinal) { "create", "update", "patch", "delete" };

    private readonly object _lock = new();
    private readonly HashSet<(string, string)> _seen = [];
    private readonly Queue<(string, string)> _seenOrder = new();

    /// <summary>What one delivery did: events received, duplicates skipped, writes recorded.</summary>
    internal readonly record struct Outcome(int Received, int Duplicates, int Recorded);

    public Outcome Receive(IReadOnlyList<AuditEvent> events)
    {
        var duplicates = 0;
        var recorded = 0;
        foreach (var e in events)
        {
            if (e.AuditID is null || e.Stage is null)
            {
                continue;
            }

            if (!FirstTime(e.AuditID, e.Stage))
            {
                duplicates++;
                continue;
            }

            if (Keys(e) is { Count: > 0 } keys)
            {
                var change = Observe(e);
                foreach (var key in keys)
                {
                    store.Record(key, change);
                }

                recorded++;
            }
        }

        return new Outcome(events.Count, duplicates, recorded);
    }

    /// <summary>The correlation keys of a kept event; empty for events that are not kept.</summary>
    internal static List<AttributionKey> Keys(AuditEvent e)
    {
        var r = e.ObjectRef;
        if (e.Stage != "ResponseComplete"
            || e.Verb is null || !Verbs.Contains(e.Verb)
            || r?.Resource is null || !Resources.Contains(r.Resource)
            || !string.IsNullOrEmpty(r.Subresource)
            || e.ResponseStatus?.Code is not (>= 200 and < 300))
        {
            return [];
        }

        var keys = new List<AttributionKey>(2);
        var responseMeta = e.ResponseObject?["kind"]?.GetValue<string>() == "Status" ? null : e.ResponseObject?["metadata"];
        var uid = (string?)responseMeta?["uid"] ?? r.Uid;
        if (uid is not null)
        {
            keys.Add(e.Verb == "delete"
                ? AttributionKey.Deleted(uid)
                : AttributionKey.Produced(uid, (string?)responseMeta?["resourceVersion"] ?? r.ResourceVersion));
        }
        else if (r.Name is not null)
        {
            // Metadata-level events of some servers carry no uid: the latest write to the name is the
            // fallback (weaker: a later write whose event has not arrived yet could borrow it).
            keys.Add(ByName(r.Resource, r.Namespace, r.Name, e.Verb == "delete"));
        }

        return keys;
    }

    /// <summary>The fallback key: the latest write (or delete) of this resource by name.</summary>
    public static AttributionKey ByName(string resource, string? ns, string name, bool delete) =>
        new($"{resource}/{ns}/{name}", delete ? "named-delete" : "named", null);

    private ObservedChange Observe(AuditEvent e)
    {
        var user = e.User;
        var manager = FieldManager(e.RequestURI);
        return new ObservedChange(
            new ChangeActor
            {
                Username = user?.Username,
                Groups = user?.Groups ?? [],
                SourceIps = e.SourceIPs ?? [],
                UserAgent = e.UserAgent,
                Via = ActorSource.AuditWebhook,
            },
            SourceClassifier.Classify(e.UserAgent, manager, user?.Username),
            time.GetUtcNow());
    }

    /// <summary>The <c>fieldManager</c> query parameter of a request URI, if any.</summary>
    internal static string? FieldManager(string? requestUri)
    {
        var query = requestUri?.IndexOf('?', StringComparison.Ordinal) is { } q and >= 0 ? requestUri[(q + 1)..] : null;
        foreach (var part in query?.Split('&') ?? [])
        {
            if (part.StartsWith("fieldManager=", StringComparison.Ordinal))
            {
                return Uri.UnescapeDataString(part[13..]);
            }
        }

        return null;
    }

    private bool FirstTime(string auditId, string stage)
    {
        lock (_lock)
        {
            if (!_seen.Add((auditId, stage)))
            {
                return false;
            }

            _seenOrder.Enqueue((auditId, stage));
            while (_seenOrder.Count > dedupCapacity)
            {
                _seen.Remove(_seenOrder.Dequeue());
            }

            return true;
        }
    }
}
