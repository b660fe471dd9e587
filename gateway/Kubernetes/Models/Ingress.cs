namespace AuditGateway.Kubernetes.Models;

internal sealed record Ingress : IKubeObject
{
    public string? ApiVersion { get; init; }
    public string? Kind { get; init; }
    public ObjectMeta? Metadata { get; init; }
    public IngressSpec? Spec { get; init; }
    public IngressStatus? Status { get; init; }
}

internal sealed record IngressSpec
{
    public string? IngressClassName { get; init; }
    public IngressBackend? DefaultBackend { get; init; }
    public IReadOnlyList<IngressTls>? Tls { get; init; }
    public IReadOnlyList<IngressRule>? Rules { get; init; }
}

internal sealed record IngressBackend
{
    public IngressServiceBackend? Service { get; init; }
    public TypedLocalObjectReference? Resource { get; init; }
}

internal sealed record IngressServiceBackend
{
    public string? Name { get; init; }
    public ServiceBackendPort? Port { get; init; }
}

internal sealed record ServiceBackendPort
{
    public string? Name { get; init; }
    public int? Number { get; init; }
}

internal sealed record TypedLocalObjectReference
{
    public string? ApiGroup { get; init; }
    public string? Kind { get; init; }
    public string? Name { get; init; }
}

internal sealed record IngressTls
{
    public IReadOnlyList<string>? Hosts { get; init; }
    public string? SecretName { get; init; }
}

internal sealed record IngressRule
{
    public string? Host { get; init; }
    public HttpIngressRuleValue? Http { get; init; }
}

internal sealed record HttpIngressRuleValue
{
    public IReadOnlyList<HttpIngressPath>? Paths { get; init; }
}

internal sealed record HttpIngressPath
{
    public string? Path { get; init; }
    public string? PathType { get; init; }
    public IngressBackend? Backend { get; init; }
}

internal sealed record IngressStatus
{
    public IngressLoadBalancerStatus? LoadBalancer { get; init; }
}

internal sealed record IngressLoadBalancerStatus
{
    public IReadOnlyList<IngressLoadBalancerIngress>? Ingress { get; init; }
}

internal sealed record IngressLoadBalancerIngress
{
    public string? Ip { get; init; }
    public string? Hostname { get; init; }
}

internal sealed record IngressClass : IKubeObject
{
    public string? ApiVersion { get; init; }
    public string? Kind { get; init; }
    public ObjectMeta? Metadata { get; init; }
    public IngressClassSpec? Spec { get; init; }
}

internal sealed record IngressClassSpec
{
    public string? Controller { get; init; }
}
