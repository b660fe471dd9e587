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
    public IReadOnlyList<ManagedFieldsEntry>? ManagedFields { get; init; }
}

/// <summary>One field manager's record: who last wrote which fields, and when (the fields themselves are not read).</summary>
internal sealed record ManagedFieldsEntry
{
    public string? Manager { get; init; }

    /// <summary><c>Apply</c> or <c>Update</c>.</summary>
    public string? Operation { get; init; }

    public string? ApiVersion { get; init; }
    public DateTimeOffset? Time { get; init; }
    public string? Subresource { get; init; }
}

/// <summary>The fields every Kubernetes object has.</summary>
internal interface IKubeObject
{
    string? ApiVersion { get; }
    string? Kind { get; }
    ObjectMeta? Metadata { get; }
}
