using System.Text.Json;

namespace AuditGateway.Kubernetes.Models;

internal sealed record Service : IKubeObject
{
    public string? ApiVersion { get; init; }
    public string? Kind { get; init; }
    public ObjectMeta? Metadata { get; init; }
    public ServiceSpec? Spec { get; init; }
    public ServiceStatus? Status { get; init; }
}

internal sealed record ServiceStatus
{
    /// <summary>Same shape as an Ingress's (ip, hostname).</summary>
    public IngressLoadBalancerStatus? LoadBalancer { get; init; }
}

internal sealed record ServiceSpec
{
    public string? Type { get; init; }
    public string? ExternalName { get; init; }
    public string? ClusterIP { get; init; }
    public IReadOnlyList<string>? ExternalIPs { get; init; }
    public IReadOnlyDictionary<string, string>? Selector { get; init; }
    public IReadOnlyList<ServicePort>? Ports { get; init; }
}

internal sealed record ServicePort
{
    public string? Name { get; init; }
    public int? Port { get; init; }
    public string? Protocol { get; init; }
    public string? AppProtocol { get; init; }

    /// <summary>An int-or-string, kept as JSON.</summary>
    public JsonElement? TargetPort { get; init; }
}

internal sealed record EndpointSlice : IKubeObject
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    public string? ApiVersion { get; init; }
    public string? Kind { get; init; }
    public ObjectMeta? Metadata { get; init; }
    public string? AddressType { get; init; }
    public IReadOnlyList<Endpoint>? Endpoints { get; init; }
    public IReadOnlyList<EndpointPort>? Ports { get; init; }
}

internal sealed record Endpoint
{
    public IReadOnlyList<string>? Addresses { get; init; }
    public EndpointConditions? Conditions { get; init; }
    public string? Hostname { get; init; }
    public string? NodeName { get; init; }
}

internal sealed record EndpointConditions
{
    public bool? Ready { get; init; }
    public bool? Serving { get; init; }
    public bool? Terminating { get; init; }
}

internal sealed record EndpointPort
{
    public string? Name { get; init; }
    public int? Port { get; init; }
    public string? Protocol { get; init; }
    public string? AppProtocol { get; init; }
}

internal sealed record Secret : IKubeObject
{
    public const string TlsType = "kubernetes.io/tls";

    public string? ApiVersion { get; init; }
    public string? Kind { get; init; }
    public ObjectMeta? Metadata { get; init; }
    public string? Type { get; init; }

    /// <summary>Values are base64, as on the wire.</summary>
    public IReadOnlyDictionary<string, string>? Data { get; init; }

    /// <summary>Plain-text values; a manifest convenience the API server folds into <see cref="Data"/>.</summary>
    public IReadOnlyDictionary<string, string>? StringData { get; init; }
}
