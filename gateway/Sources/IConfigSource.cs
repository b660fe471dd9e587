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

/// <summary>Who made a change and with which tool, as far as anyone could tell.</summary>
internal sealed record ChangeAttribution(Audit.Entries.ChangeActor Actor, Audit.Entries.ChangeSource Source);

/// <summary>
/// Attributes changes that came from a cluster (the file source attributes its own). May wait
/// briefly for a webhook that has not reported yet.
/// </summary>
internal interface IChangeAttributor
{
    Task<ChangeAttribution> AttributeAsync(ResourceChange change, ChangeContext context, CancellationToken cancellationToken);
}
