using AuditGateway.Kubernetes.Models;

namespace AuditGateway.ControlPlane;

/// <summary>Receives batches of changes from a source; one batch becomes one reconcile.</summary>
internal interface IConfigSink
{
    Task ApplyAsync(IReadOnlyList<ResourceChange> changes, ChangeContext context, CancellationToken cancellationToken);

    /// <summary>The source has delivered its first complete view.</summary>
    void MarkSynced();
}
