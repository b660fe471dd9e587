using System.Globalization;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Routing;

/// <summary>
/// Resolves an Ingress backend to its destinations: the ready endpoints of the Service's EndpointSlices,
/// or an ExternalName Service's name, and the protocol to speak. A backend with none keeps its route,
/// marked unavailable with the reason.
/// </summary>
internal static class BackendResolver
{
    /// <param name="ns">The Ingress's namespace, which is the Service's.</param>
    /// <param name="annotated">The protocol the Ingress's annotation asks for, if any; otherwise the Service port decides.</param>
    public static RouteBackend Resolve(IngressServiceBackend backend, string ns, BackendProtocol? annotated, ObjectIndex index)
    {
        var serviceName = backend.Name!;
        var portText = backend.Port!.Number?.ToString(CultureInfo.InvariantCulture) ?? backend.Port.Name!;
        var result = new RouteBackend { Service = serviceName, Port = portText, Protocol = annotated ?? BackendProtocol.Http };
        var qualified = $"{ns}/{serviceName}";
        if (!index.Services.TryGetValue((ns, serviceName), out var service))
        {
            return result with { Unavailable = $"service {qualified} not found" };
        }

        var ports = service.Spec?.Ports ?? [];
        var servicePort = backend.Port.Number is { } number
            ? ports.FirstOrDefault(p => p.Port == number)
            : ports.FirstOrDefault(p => p.Name == backend.Port.Name);
        if (annotated is null
            && (string.Equals(servicePort?.AppProtocol, "https", StringComparison.OrdinalIgnoreCase) || servicePort?.Name == "https"))
        {
            result = result with { Protocol = BackendProtocol.Https };
        }

        if (service.Spec?.Type == "ExternalName")
        {
            var externalPort = backend.Port.Number ?? servicePort?.Port;
            if (string.IsNullOrEmpty(service.Spec.ExternalName) || externalPort is null)
            {
                return result with { Unavailable = $"service {qualified} is ExternalName without a name or without port {portText}" };
            }

            return WithDestinations(result, [$"{service.Spec.ExternalName}:{externalPort}"]);
        }

        if (servicePort is null)
        {
            return result with { Unavailable = $"service {qualified} has no port {portText}" };
        }

        var destinations = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var slice in index.SlicesFor(ns, serviceName))
        {
            var slicePort = slice.Ports?.FirstOrDefault(p => (p.Name ?? "") == (servicePort.Name ?? ""));
            if (slicePort?.Port is not { } targetPort)
            {
                continue;
            }

            foreach (var endpoint in slice.Endpoints ?? [])
            {
                if (endpoint.Conditions?.Ready == false)
                {
                    continue;
                }

                foreach (var address in endpoint.Addresses ?? [])
                {
                    destinations.Add(address.Contains(':', StringComparison.Ordinal) ? $"[{address}]:{targetPort}" : $"{address}:{targetPort}");
                }
            }
        }

        return destinations.Count == 0
            ? result with { Unavailable = $"service {qualified} has no ready endpoints" }
            : WithDestinations(result, [.. destinations]);
    }

    private static RouteBackend WithDestinations(RouteBackend backend, List<string> destinations) => backend with
    {
        Destinations = destinations,
        DestinationPrefixes = [.. destinations.Select(d => (backend.Protocol is BackendProtocol.Https or BackendProtocol.Grpcs ? "https://" : "http://") + d)],
    };
}
