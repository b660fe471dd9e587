namespace AuditGateway.ControlPlane.Sources;

/// <summary>
/// A source of routing inputs: a manifest directory, or the Kubernetes API. It reports
/// changes to the sink, and says when its first full view has been delivered.
/// </summary>
internal interface IConfigSource
{
    /// <summary>Runs until cancelled, delivering changes to <paramref name="sink"/>.</summary>
    Task RunAsync(IConfigSink sink, CancellationToken cancellationToken);
}
