namespace AuditGateway.Sources;

/// <summary>
/// A source of routing inputs: a manifest directory, or the Kubernetes API. It reports
/// changes to the sink, and says when its first full view has been delivered.
/// </summary>
internal interface IConfigSource
{
    /// <summary>Runs until cancelled, delivering changes to <paramref name="sink"/>.</summary>
    Task RunAsync(IConfigSink sink, CancellationToken cancellationToken);
}

/// <summary>Receives batches of changes from a source; one batch becomes one reconcile.</summary>
internal interface IConfigSink
{
    Task ApplyAsync(IReadOnlyList<ResourceChange> changes, ChangeContext context, CancellationToken cancellationToken);

    /// <summary>The source has delivered its first complete view.</summary>
    void MarkSynced();
}

/// <summary>Who or what caused a batch of changes, as far as the source knows.</summary>
internal sealed record ChangeContext(string Via, string? Actor);
