using System.Collections.Immutable;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Routing;

/// <summary>
/// The translator's input, indexed the ways the translator looks things up. Immutable: a batch of
/// changes gives a new index sharing what did not change, so a reconcile that fails leaves the
/// index in force untouched.
/// </summary>
internal sealed record ObjectIndex
{
    public static readonly ObjectIndex Empty = new();

    /// <summary>Every object, as read.</summary>
    public ImmutableDictionary<ObjectKey, KubeResource> Objects { get; private init; } = ImmutableDictionary<ObjectKey, KubeResource>.Empty;

    public ImmutableDictionary<ObjectKey, Ingress> Ingresses { get; private init; } = ImmutableDictionary<ObjectKey, Ingress>.Empty;

    public ImmutableDictionary<string, IngressClass> Classes { get; private init; } = ImmutableDictionary.Create<string, IngressClass>(StringComparer.Ordinal);

    public ImmutableDictionary<(string Namespace, string Name), Service> Services { get; private init; } = ImmutableDictionary<(string Namespace, string Name), Service>.Empty;

    public ImmutableDictionary<(string Namespace, string Name), Secret> Secrets { get; private init; } = ImmutableDictionary<(string Namespace, string Name), Secret>.Empty;

    /// <summary>Per Service (namespace, name), its EndpointSlices by name.</summary>
    private ImmutableDictionary<(string Namespace, string Service), ImmutableSortedDictionary<string, EndpointSlice>> Slices { get; init; } =
        ImmutableDictionary<(string Namespace, string Service), ImmutableSortedDictionary<string, EndpointSlice>>.Empty;

    /// <summary>The Service's EndpointSlices, by name.</summary>
    public IEnumerable<EndpointSlice> SlicesFor(string ns, string service) =>
        Slices.TryGetValue((ns, service), out var slices) ? slices.Values : [];

    /// <summary>The Service an EndpointSlice belongs to (its <c>kubernetes.io/service-name</c> label), if any.</summary>
    public static string? OwnerOf(KubeResource? slice) =>
        slice?.Object.Metadata?.Labels?.GetValueOrDefault(EndpointSlice.ServiceNameLabel);

    /// <summary>The index with the changes applied (each object replaced by its new version, or removed).</summary>
    public ObjectIndex With(IEnumerable<ResourceChange> changes)
    {
        var objects = Objects.ToBuilder();
        var ingresses = Ingresses.ToBuilder();
        var classes = Classes.ToBuilder();
        var services = Services.ToBuilder();
        var secrets = Secrets.ToBuilder();
        var slices = Slices.ToBuilder();
        foreach (var change in changes)
        {
            var key = change.Key;
            var scoped = (key.Namespace, key.Name);
            if (key.Kind == ResourceKind.EndpointSlice && OwnerOf(objects.GetValueOrDefault(key)) is { } owner
                && slices.TryGetValue((key.Namespace, owner), out var was))
            {
                var rest = was.Remove(key.Name);
                if (rest.IsEmpty)
                {
                    slices.Remove((key.Namespace, owner));
                }
                else
                {
                    slices[(key.Namespace, owner)] = rest;
                }
            }

            if (change.New is not { } resource)
            {
                objects.Remove(key);
                _ = key.Kind switch
                {
                    ResourceKind.Ingress => ingresses.Remove(key),
                    ResourceKind.IngressClass => classes.Remove(key.Name),
                    ResourceKind.Service => services.Remove(scoped),
                    ResourceKind.Secret => secrets.Remove(scoped),
                    _ => true,
                };
                continue;
            }

            objects[key] = resource;
            switch (resource.Object)
            {
                case Ingress ingress:
                    ingresses[key] = ingress;
                    break;
                case IngressClass ingressClass:
                    classes[key.Name] = ingressClass;
                    break;
                case Service service:
                    services[scoped] = service;
                    break;
                case Secret secret:
                    secrets[scoped] = secret;
                    break;
                case EndpointSlice slice when OwnerOf(resource) is { } newOwner:
                    var sliceKey = (key.Namespace, newOwner);
                    var set = slices.GetValueOrDefault(sliceKey) ?? ImmutableSortedDictionary.Create<string, EndpointSlice>(StringComparer.Ordinal);
                    slices[sliceKey] = set.SetItem(key.Name, slice);
                    break;
            }
        }

        return new ObjectIndex
        {
            Objects = objects.ToImmutable(),
            Ingresses = ingresses.ToImmutable(),
            Classes = classes.ToImmutable(),
            Services = services.ToImmutable(),
            Secrets = secrets.ToImmutable(),
            Slices = slices.ToImmutable(),
        };
    }
}
