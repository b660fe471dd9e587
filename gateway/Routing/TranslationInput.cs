using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Routing;

/// <summary>Which Ingresses are ours (docs/configuration.md options).</summary>
internal sealed record ClassOptions
{
    public string ClassName { get; init; } = "auditgateway";

    public string ControllerName { get; init; } = "auditgateway.io/ingress-controller";

    public bool WatchIngressWithoutClass { get; init; }
}

/// <summary>Everything the translator reads: the current objects and the last accepted version of each Ingress.</summary>
internal sealed record TranslationInput
{
    public required IReadOnlyDictionary<ObjectKey, KubeResource> Objects { get; init; }

    /// <summary>The version of each Ingress that last passed validation, which serves while a newer one is refused.</summary>
    public IReadOnlyDictionary<ObjectKey, Ingress> LastAccepted { get; init; } = new Dictionary<ObjectKey, Ingress>();

    public ClassOptions Classes { get; init; } = new();
}

/// <summary>The translator's output: the table, and the Ingress versions now accepted.</summary>
internal sealed record TranslationResult(RouteTable Table, IReadOnlyDictionary<ObjectKey, Ingress> Accepted);
