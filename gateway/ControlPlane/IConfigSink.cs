using AuditGateway.Kubernetes.Models;

namespace AuditGateway.ControlPlane;

/// <summary>Receives batches of changes from a source; one batch becomes one reconcile.</summary>
internal interface IConfigSink
{
    /// <summary>
    /// Returns once the batch has taken effect — a failed reconcile is retried inside, and the
    /// source's next batch waits — so it throws only when cancelled.
    /// </summary>
    Task ApplyAsync(IReadOnlyList<ResourceChange> changes, ChangeContext context, CancellationToken cancellationToken);

    /// <summary>The source has delivered its first complete view.</summary>
    void MarkSynced();
}
