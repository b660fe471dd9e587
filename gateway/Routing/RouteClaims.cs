using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Routing;

/// <summary>
/// Host and path precedence: the first candidate (the oldest) to ask for a host and path, or for the
/// default backend, gets it; a later one that asks again gets a warning and is not served there.
/// </summary>
internal sealed class RouteClaims(ObjectIndex index)
{
    private readonly Dictionary<(string Host, string Path, bool Exact), IngressRoute> _claimed = [];

    public List<IngressRoute> Routes { get; } = [];

    public IngressRoute? DefaultBackend { get; private set; }

    public void ClaimDefaultBackend(IngressCandidate candidate)
    {
        var spec = candidate.Ingress.Spec!;
        if (spec.DefaultBackend is { } fallback && DefaultBackend is null)
        {
            DefaultBackend = new IngressRoute
            {
                Id = $"{candidate.Key.Namespace}/{candidate.Key.Name}:default-backend",
                Namespace = candidate.Key.Namespace,
                Ingress = candidate.Key.Name,
                Backend = Resolve(fallback.Service!, candidate),
                Policy = candidate.Annotations.Policy,
            };
        }
        else if (spec.DefaultBackend is not null)
        {
            candidate.Warnings.Add($"spec.defaultBackend: not used; {DefaultBackend!.Namespace}/{DefaultBackend.Ingress} is older and also sets one");
        }
    }

    /// <param name="tlsHosts">The hosts the candidate lists under <c>spec.tls</c>: their routes redirect HTTP to HTTPS.</param>
    public void ClaimRules(IngressCandidate candidate, List<string> tlsHosts)
    {
        var spec = candidate.Ingress.Spec!;
        for (var i = 0; i < (spec.Rules?.Count ?? 0); i++)
        {
            var rule = spec.Rules![i];
            var host = string.IsNullOrEmpty(rule.Host) ? null : rule.Host.ToLowerInvariant();
            for (var j = 0; j < (rule.Http?.Paths?.Count ?? 0); j++)
            {
                var path = rule.Http!.Paths![j];
                var exact = path.PathType == "Exact";
                var claim = (host ?? "", exact ? path.Path! : path.Path!.TrimEnd('/'), exact);
                if (_claimed.TryGetValue(claim, out var owner))
                {
                    candidate.Warnings.Add(
                        $"spec.rules[{i}].http.paths[{j}]: conflict: {host ?? "*"} {path.Path} ({path.PathType}) is already served by {owner.Namespace}/{owner.Ingress}, which is older; not served from here");
                    continue;
                }

                var route = new IngressRoute
                {
                    Id = $"{candidate.Key.Namespace}/{candidate.Key.Name}:{host ?? "*"}{path.Path}:{path.PathType}",
                    Host = host,
                    Path = path.Path,
                    PathType = path.PathType,
                    Namespace = candidate.Key.Namespace,
                    Ingress = candidate.Key.Name,
                    Backend = Resolve(path.Backend!.Service!, candidate),
                    SslRedirect = candidate.Annotations.ForceSslRedirect
                        || (candidate.Annotations.SslRedirect != false && host is not null && TlsBindings.Covers(tlsHosts, host)),
                    Policy = candidate.Annotations.Policy,
                };
                _claimed[claim] = route;
                Routes.Add(route);
            }
        }
    }

    private RouteBackend Resolve(IngressServiceBackend backend, IngressCandidate candidate) =>
        BackendResolver.Resolve(backend, candidate.Key.Namespace, candidate.Annotations.BackendProtocol, index);
}
