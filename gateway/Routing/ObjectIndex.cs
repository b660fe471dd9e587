using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Routing;

/// <summary>The translator's input, indexed the ways the translator looks things up (in namespace, then name, order).</summary>
internal sealed class ObjectIndex
{
    private readonly Dictionary<(string Namespace, string Service), List<EndpointSlice>> _slices = [];

    public ObjectIndex(IReadOnlyDictionary<ObjectKey, KubeResource> objects)
    {
        foreach (var (key, resource) in objects.OrderBy(o => o.Key.Namespace, StringComparer.Ordinal).ThenBy(o => o.Key.Name, StringComparer.Ordinal))
        {
            switch (resource.Object)
            {
                case Ingress ingress:
                    Ingresses.Add((key, ingress));
                    break;
                case IngressClass ingressClass:
                    Classes[key.Name] = ingressClass;
                    break;
                case Service service:
                    Services[(key.Namespace, key.Name)] = service;
                    break;
                case Secret secret:
                    Secrets[(key.Namespace, key.Name)] = secret;
                    break;
                case EndpointSlice slice when slice.Metadata?.Labels?.GetValueOrDefault(EndpointSlice.ServiceNameLabel) is { } owner:
                    var sliceKey = (key.Namespace, owner);
                    if (!_slices.TryGetValue(sliceKey, out var list))
                    {
                        _slices[sliceKey] = list = [];
                    }

                    list.Add(slice);
                    break;
            }
        }
    }

    public List<(ObjectKey Key, Ingress Ingress)> Ingresses { get; } = [];

    public Dictionary<string, IngressClass> Classes { get; } = new(StringComparer.Ordinal);

    public Dictionary<(string Namespace, string Name), Service> Services { get; } = [];

    public Dictionary<(string Namespace, string Name), Secret> Secrets { get; } = [];

    public List<EndpointSlice> SlicesFor(string ns, string service) =>
        _slices.TryGetValue((ns, service), out var list) ? list : [];
}
