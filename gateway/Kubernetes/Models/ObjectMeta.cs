namespace AuditGateway.Kubernetes.Models;

internal sealed record ObjectMeta
{
    public string? Name { get; init; }
    public string? Namespace { get; init; }
    public string? Uid { get; init; }
    public string? ResourceVersion { get; init; }
    public long? Generation { get; init; }
    public DateTimeOffset? CreationTimestamp { get; init; }
    public DateTimeOffset? DeletionTimestamp { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }
}

/// <summary>The fields every Kubernetes object has.</summary>
internal interface IKubeObject
{
    string? ApiVersion { get; }
    string? Kind { get; }
    ObjectMeta? Metadata { get; }
}
