namespace AuditGateway.Kubernetes.Models;

/// <summary>coordination.k8s.io/v1 Lease, the lock for leader election.</summary>
internal sealed record Lease : IKubeObject
{
    public string? ApiVersion { get; init; } = "coordination.k8s.io/v1";
    public string? Kind { get; init; } = "Lease";
    public ObjectMeta? Metadata { get; init; }
    public LeaseSpec? Spec { get; init; }
}

internal sealed record LeaseSpec
{
    public string? HolderIdentity { get; init; }
    public int? LeaseDurationSeconds { get; init; }

    /// <summary>MicroTime on the wire: RFC 3339 with six fractional digits.</summary>
    public string? AcquireTime { get; init; }

    /// <summary>MicroTime on the wire: RFC 3339 with six fractional digits.</summary>
    public string? RenewTime { get; init; }

    public int? LeaseTransitions { get; init; }
}
