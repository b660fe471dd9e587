using AuditGateway.Audit.Entries;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.ControlPlane;

/// <summary>How a batch of changes reached the gateway.</summary>
internal enum ChangeVia
{
    /// <summary>A manifest file was read; the actor is the OS user running the gateway.</summary>
    File,

    /// <summary>A (re)list of a Kubernetes resource type.</summary>
    List,

    /// <summary>A Kubernetes watch event.</summary>
    Watch,
}

/// <summary>Who or what caused a batch of changes, as far as the source knows.</summary>
internal sealed record ChangeContext(ChangeVia Via, string? Actor);

/// <summary>Who made a change and with which tool, as far as anyone could tell.</summary>
internal sealed record ChangeAttribution(ChangeActor Actor, ChangeSource Source);

/// <summary>
/// Attributes changes that came from a cluster (the file source attributes its own). May wait
/// briefly for a webhook that has not reported yet.
/// </summary>
internal interface IChangeAttributor
{
    Task<ChangeAttribution> AttributeAsync(ResourceChange change, ChangeContext context, CancellationToken cancellationToken);
}
