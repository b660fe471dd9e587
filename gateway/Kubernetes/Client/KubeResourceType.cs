using System.Text;

namespace AuditGateway.Kubernetes.Client;

/// <summary>A REST resource: where its collection lives and what its objects are called.</summary>
internal sealed record KubeResourceType(string Group, string Version, string Plural, string Kind, bool Namespaced)
{
    public static readonly KubeResourceType Ingresses = new("networking.k8s.io", "v1", "ingresses", "Ingress", true);
    public static readonly KubeResourceType IngressClasses = new("networking.k8s.io", "v1", "ingressclasses", "IngressClass", false);
    public static readonly KubeResourceType Services = new("", "v1", "services", "Service", true);
    public static readonly KubeResourceType EndpointSlices = new("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true);
    public static readonly KubeResourceType Secrets = new("", "v1", "secrets", "Secret", true);
    public static readonly KubeResourceType Leases = new("coordination.k8s.io", "v1", "leases", "Lease", true);
    public static readonly KubeResourceType Events = new("", "v1", "events", "Event", true);

    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>The path of a collection (all namespaces when <paramref name="ns"/> is null), an object, or a subresource.</summary>
    public string Path(string? ns, string? name = null, string? subresource = null)
    {
        var path = new StringBuilder(Group.Length == 0 ? "/api/v1" : $"/apis/{Group}/{Version}");
        if (Namespaced && ns is not null)
        {
            path.Append("/namespaces/").Append(Uri.EscapeDataString(ns));
        }

        path.Append('/').Append(Plural);
        if (name is not null)
        {
            path.Append('/').Append(Uri.EscapeDataString(name));
        }

        if (subresource is not null)
        {
            path.Append('/').Append(subresource);
        }

        return path.ToString();
    }
}
