using System.Text.Json;
using AuditGateway.Audit;
using AuditGateway.Audit.Entries;
using AuditGateway.Kubernetes.Models;
using AuditGateway.Routing;

namespace AuditGateway.ControlPlane;

/// <summary>
/// Write-ahead for routing changes: every changed object of a batch becomes one <c>config</c>
/// entry — who, what diff, which file or tool, what it did to the route table, and the
/// refusal if it was refused — and the batch's table is swapped in only once they are all
/// durable (docs/audit-log.md, guarantee 1).
/// </summary>
internal sealed class ConfigChangeRecorder(IAuditLog log, TimeProvider time, IChangeAttributor? attributor = null)
{
    /// <summary>
    /// Writes the batch's <c>config</c> entries and returns once all are durable. Called again for
    /// the same <paramref name="record"/> after a failure, it writes only the entries not yet durable.
    /// </summary>
    public async ValueTask RecordAsync(ConfigRecord record, CancellationToken cancellationToken)
    {
        var update = record.Update;
        var fromFile = update.Context.Via == ChangeVia.File;
        if (attributor is not null && !fromFile)
        {
            record.Attributions ??= await Task.WhenAll(update.Changes.Select(c => attributor.AttributeAsync(c, update.Context, cancellationToken)));
        }

        var now = time.GetUtcNow();
        var pending = new List<Task>(update.Changes.Count);
        for (var i = 0; i < update.Changes.Count; i++)
        {
            if (record.Durable[i])
            {
                continue;
            }

            var body = Describe(update.Changes[i], update, record.Attributions?[i]);
            if (!fromFile && body.Operation == "update" && body.Diff.GetArrayLength() == 0 && body.Effect.Added.Count + body.Effect.Removed.Count + body.Effect.Changed.Count == 0 && body.Errors.Count == 0)
            {
                // A cluster write that changed nothing this gateway reads (a status write, a resync): not a config change.
                record.Durable[i] = true;
                continue;
            }

            pending.Add(AppendAsync(record, i, new AuditEntry(now, body), cancellationToken));
        }

        await Task.WhenAll(pending);
    }

    private async Task AppendAsync(ConfigRecord record, int index, AuditEntry entry, CancellationToken cancellationToken)
    {
        await log.AppendDurableAsync(entry, cancellationToken);
        record.Durable[index] = true;
    }

    internal static ConfigBody Describe(ResourceChange change, RouteTableUpdate update, ChangeAttribution? attribution = null)
    {
        var resource = change.New ?? change.Old!;
        var meta = resource.Object.Metadata;
        var origin = change.New?.Origin ?? change.Old?.Origin;
        var fromFile = update.Context.Via == ChangeVia.File;
        var diff = JsonPatch.Diff(JsonPatch.AuditableView(change.Old), JsonPatch.AuditableView(change.New));
        return new ConfigBody
        {
            RevisionBefore = update.Before.Revision,
            RevisionAfter = update.After.Revision,
            Object = new ObjectRef
            {
                Kind = change.Key.Kind.ToString(),
                Namespace = change.Key.Namespace.Length == 0 ? null : change.Key.Namespace,
                Name = change.Key.Name,
                Uid = meta?.Uid,
                ResourceVersion = meta?.ResourceVersion,
                Generation = meta?.Generation,
            },
            Operation = change.Old is null ? "create" : change.New is null ? "delete" : "update",
            Actor = attribution?.Actor ?? new ChangeActor
            {
                Username = update.Context.Actor,
                Via = fromFile ? ActorSource.File : ActorSource.ManagedFields,
            },
            Source = attribution?.Source ?? (fromFile ? ChangeSource.File : ChangeSource.Unknown),
            File = origin is null ? null : new FileRef(origin.Path, origin.Sha256),
            Diff = JsonSerializer.SerializeToElement(diff, SourcesJsonContext.Default.JsonArray),
            Effect = EffectOf(change, update),
            Errors = ErrorsOf(change, update.After),
        };
    }

    /// <summary>
    /// The routes this object touched. With one change in the batch, the batch's whole effect;
    /// otherwise the routes of this Ingress, or of the Ingresses whose backend is this Service.
    /// </summary>
    private static RouteEffect EffectOf(ResourceChange change, RouteTableUpdate update)
    {
        var effect = update.Changes.Count > 1 ? update.Effect.Restrict(RelatedRoutes(change, update)) : update.Effect;

        return effect.IsEmpty ? RouteEffect.None : new RouteEffect { Added = effect.Added, Removed = effect.Removed, Changed = effect.Changed };
    }

    /// <summary>The ids of the batch's affected routes (either version) of this Ingress, or whose backend is this Service.</summary>
    private static HashSet<string> RelatedRoutes(ResourceChange change, RouteTableUpdate update)
    {
        var key = change.Key;
        var service = key.Kind switch
        {
            ResourceKind.Service => key.Name,
            ResourceKind.EndpointSlice => (change.New ?? change.Old)!.Object.Metadata?.Labels?.GetValueOrDefault(EndpointSlice.ServiceNameLabel),
            _ => null,
        };
        var index = update.Effect.Owners;
        var owner = key.Kind == ResourceKind.Ingress ? new RouteOwner(key.Namespace, key.Name, IsService: false)
            : service is null ? (RouteOwner?)null
            : new RouteOwner(key.Namespace, service, IsService: true);
        return owner is { } o ? [.. index[o]] : [];
    }

    private static IReadOnlyList<string> ErrorsOf(ResourceChange change, RouteTable table)
    {
        if (change.Key.Kind != ResourceKind.Ingress || change.New is null)
        {
            return [];
        }

        var report = table.Report($"{change.Key.Namespace}/{change.Key.Name}");
        return report is null ? [] : [.. report.Errors.Select(e => e.ToString())];
    }
}

/// <summary>The <c>config</c> entries of one batch: which are durable already, and who made the changes once known.</summary>
internal sealed class ConfigRecord(RouteTableUpdate update)
{
    public RouteTableUpdate Update => update;

    /// <summary>Per change: its entry is durable (or it needs none).</summary>
    public bool[] Durable { get; } = new bool[update.Changes.Count];

    public ChangeAttribution[]? Attributions { get; set; }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(System.Text.Json.Nodes.JsonArray))]
internal sealed partial class SourcesJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
