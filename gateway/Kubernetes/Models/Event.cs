namespace AuditGateway.Kubernetes.Models;

/// <summary>core/v1 Event, as <c>kubectl describe</c> shows them.</summary>
internal sealed record Event : IKubeObject
{
    public string? ApiVersion { get; init; } = "v1";
    public string? Kind { get; init; } = "Event";
    public ObjectMeta? Metadata { get; init; }
    public ObjectReference? InvolvedObject { get; init; }
    public string? Reason { get; init; }
    public string? Message { get; init; }

    /// <summary><c>Normal</c> or <c>Warning</c>.</summary>
    public string? Type { get; init; }

    public EventSource? Source { get; init; }
    public DateTimeOffset? FirstTimestamp { get; init; }
    public DateTimeOffset? LastTimestamp { get; init; }
    public int? Count { get; init; }
    public string? ReportingComponent { get; init; }
    public string? ReportingInstance { get; init; }
}

internal sealed record ObjectReference
{
    public string? ApiVersion { get; init; }
    public string? Kind { get; init; }
    public string? Namespace { get; init; }
    public string? Name { get; init; }
    public string? Uid { get; init; }
    public string? ResourceVersion { get; init; }
}

internal sealed record EventSource
{
    public string? Component { get; init; }
    public string? Host { get; init; }
}
