using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Routing;

/// <summary>One host, path and kind of match that only one Ingress may serve (host <c>""</c>: every host; the Prefix path without trailing slashes).</summary>
internal readonly record struct RouteClaim(string Host, string Path, bool Exact);

/// <summary>
/// What one candidate asks for, from its own inputs alone: the claims of its rules, its rule hosts,
/// its TLS entries, whether it sets a default backend, and the Services and Secrets it reads.
/// </summary>
internal sealed record CandidatePlan(
    IngressCandidate Candidate,
    IReadOnlyList<RouteClaim> Claims,
    IReadOnlyList<string> Hosts,
    IReadOnlyList<TlsEntry> Tls,
    IReadOnlyDictionary<string, string> TlsSecrets,
    IReadOnlyList<string> Services,
    IReadOnlyList<string> Secrets)
{
    public bool HasDefaultBackend => Candidate.Ingress.Spec!.DefaultBackend is not null;

    public static CandidatePlan Of(IngressCandidate candidate, ObjectIndex index)
    {
        var spec = candidate.Ingress.Spec!;
        var claims = new List<RouteClaim>();
        var hosts = new List<string>();
        var services = new List<string>();
        if (spec.DefaultBackend?.Service?.Name is { } fallback)
        {
            services.Add(fallback);
        }

        foreach (var rule in spec.Rules ?? [])
        {
            var host = RouteClaims.HostOf(rule);
            hosts.Add(host ?? "");
            foreach (var path in rule.Http?.Paths ?? [])
            {
                claims.Add(RouteClaims.ClaimOf(host, path));
                services.Add(path.Backend!.Service!.Name!);
            }
        }

        var tls = TlsBindings.Read(candidate, index);
        var secrets = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in tls)
        {
            foreach (var host in entry.Hosts)
            {
                if (entry.Material is { } material)
                {
                    secrets.TryAdd(host, material.Secret);
                }
            }
        }

        return new CandidatePlan(
            candidate,
            [.. claims.Distinct()],
            [.. hosts.Distinct(StringComparer.Ordinal)],
            tls,
            secrets,
            [.. services.Distinct(StringComparer.Ordinal)],
            [.. (spec.Tls ?? []).Select(t => t.SecretName).OfType<string>().Where(n => n.Length > 0).Distinct(StringComparer.Ordinal)]);
    }
}

/// <summary>Who is the oldest candidate asking for a claim, a TLS host, or a default backend (and the secret that one binds a host to).</summary>
internal interface IClaimOwners
{
    IngressAge OwnerOf(RouteClaim claim);

    /// <summary>The oldest candidate with a usable secret for the host, and that secret.</summary>
    (IngressAge Owner, string Secret) TlsOwnerOf(string host);

    IngressAge? DefaultBackendOwner { get; }
}

/// <summary>
/// Host and path precedence: the oldest candidate to ask for a host and path, for a TLS host, or for
/// the default backend, gets it; a later one that asks again gets a warning and is not served there.
/// Resolves one candidate against the owners of what it asks for.
/// </summary>
internal static class RouteClaims
{
    public static string? HostOf(IngressRule rule) => string.IsNullOrEmpty(rule.Host) ? null : rule.Host.ToLowerInvariant();

    public static RouteClaim ClaimOf(string? host, HttpIngressPath path)
    {
        var exact = path.PathType == "Exact";
        return new RouteClaim(host ?? "", exact ? path.Path! : path.Path!.TrimEnd('/'), exact);
    }

    /// <summary>The candidate's routes (in rule order), its default-backend route if it owns it, the TLS bindings it owns, and its report.</summary>
    public static CandidateResult Resolve(CandidatePlan plan, IClaimOwners owners, ObjectIndex index)
    {
        var candidate = plan.Candidate;
        var warnings = new List<string>();
        var bindings = new Dictionary<string, TlsBinding>(StringComparer.Ordinal);
        var tlsHosts = new List<string>();
        for (var i = 0; i < plan.Tls.Count; i++)
        {
            var entry = plan.Tls[i];
            tlsHosts.AddRange(entry.Hosts);
            if (entry.Material is not { } material)
            {
                warnings.Add(entry.Warning!);
                continue;
            }

            foreach (var host in entry.Hosts)
            {
                var (owner, ownerSecret) = owners.TlsOwnerOf(host);
                var existing = owner == candidate.Age ? bindings.GetValueOrDefault(host)?.Secret : ownerSecret;
                if (existing is not null)
                {
                    if (existing != material.Secret)
                    {
                        warnings.Add($"spec.tls[{i}]: host {host} already uses secret {existing} from an older Ingress");
                    }

                    continue;
                }

                bindings[host] = material with { Host = host };
            }
        }

        var spec = candidate.Ingress.Spec!;
        IngressRoute? defaultRoute = null;
        if (spec.DefaultBackend is { } fallback)
        {
            var owner = owners.DefaultBackendOwner!.Value;
            if (owner == candidate.Age)
            {
                defaultRoute = new IngressRoute
                {
                    Id = $"{candidate.Key.Namespace}/{candidate.Key.Name}:default-backend",
                    Namespace = candidate.Key.Namespace,
                    Ingress = candidate.Key.Name,
                    Backend = Resolve(fallback.Service!, candidate, index),
                    Policy = candidate.Annotations.Policy,
                };
            }
            else
            {
                warnings.Add($"spec.defaultBackend: not used; {owner.Namespace}/{owner.Name} is older and also sets one");
            }
        }

        var routes = new List<IngressRoute>();
        var claimed = new HashSet<RouteClaim>();
        for (var i = 0; i < (spec.Rules?.Count ?? 0); i++)
        {
            var rule = spec.Rules![i];
            var host = HostOf(rule);
            for (var j = 0; j < (rule.Http?.Paths?.Count ?? 0); j++)
            {
                var path = rule.Http!.Paths![j];
                var claim = ClaimOf(host, path);
                var owner = owners.OwnerOf(claim);
                if (owner != candidate.Age || !claimed.Add(claim))
                {
                    warnings.Add(
                        $"spec.rules[{i}].http.paths[{j}]: conflict: {host ?? "*"} {path.Path} ({path.PathType}) is already served by {owner.Namespace}/{owner.Name}, which is older; not served from here");
                    continue;
                }

                routes.Add(new IngressRoute
                {
                    Id = $"{candidate.Key.Namespace}/{candidate.Key.Name}:{host ?? "*"}{path.Path}:{path.PathType}",
                    Host = host,
                    Path = path.Path,
                    PathType = path.PathType,
                    Namespace = candidate.Key.Namespace,
                    Ingress = candidate.Key.Name,
                    Backend = Resolve(path.Backend!.Service!, candidate, index),
                    SslRedirect = candidate.Annotations.ForceSslRedirect
                        || (candidate.Annotations.SslRedirect != false && host is not null && TlsBindings.Covers(tlsHosts, host)),
                    Policy = candidate.Annotations.Policy,
                });
            }
        }

        return new CandidateResult(routes, defaultRoute, bindings, candidate.Report(warnings));
    }

    private static RouteBackend Resolve(IngressServiceBackend backend, IngressCandidate candidate, ObjectIndex index) =>
        BackendResolver.Resolve(backend, candidate.Key.Namespace, candidate.Annotations.BackendProtocol, index);
}

/// <summary>What one candidate contributes to the table, with the content hash of each part (for the revision and the diff).</summary>
internal sealed class CandidateResult
{
    public CandidateResult(List<IngressRoute> routes, IngressRoute? defaultRoute, Dictionary<string, TlsBinding> bindings, IngressReport report)
    {
        Routes = routes;
        RouteHashes = [.. routes.Select(RouteTableBuilder.HashOf)];
        DefaultRoute = defaultRoute;
        DefaultHash = defaultRoute is null ? null : RouteTableBuilder.HashOf(defaultRoute);
        Bindings = bindings;
        Report = report;
        ReportHash = RouteTableBuilder.HashOf(report);
    }

    public IReadOnlyList<IngressRoute> Routes { get; }

    public IReadOnlyList<byte[]> RouteHashes { get; }

    public IngressRoute? DefaultRoute { get; }

    public byte[]? DefaultHash { get; }

    /// <summary>The TLS hosts this candidate owns, by host.</summary>
    public IReadOnlyDictionary<string, TlsBinding> Bindings { get; }

    public IngressReport Report { get; }

    public byte[] ReportHash { get; }
}
