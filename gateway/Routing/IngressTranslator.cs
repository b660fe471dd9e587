using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Routing;

/// <summary>
/// Turns Ingresses and the objects they refer to into a route table (docs/annotations.md).
/// A pure function: the same input gives the same table and revision. Each step is its own type:
/// <see cref="IngressCandidate"/> (which Ingresses take part, oldest first), <see cref="TlsBindings"/>
/// (certificates per host), <see cref="RouteClaims"/> (who serves each host and path) and
/// <see cref="BackendResolver"/> (where a route's requests go).
/// </summary>
internal static class IngressTranslator
{
    public static TranslationResult Translate(TranslationInput input)
    {
        var index = new ObjectIndex(input.Objects);
        var reports = new List<IngressReport>();
        var accepted = new Dictionary<ObjectKey, Ingress>();
        var candidates = IngressCandidate.Collect(input, index, accepted, reports);
        var tls = new TlsBindings(index);
        var claims = new RouteClaims(index);

        foreach (var candidate in candidates)
        {
            var tlsHosts = tls.Bind(candidate);
            claims.ClaimDefaultBackend(candidate);
            claims.ClaimRules(candidate, tlsHosts);
            reports.Add(candidate.Report());
        }

        reports.Sort(static (a, b) => string.CompareOrdinal(a.Ingress, b.Ingress));
        var table = new RouteTable
        {
            Routes = claims.Routes,
            DefaultBackend = claims.DefaultBackend,
            Tls = tls.ByHost(),
            Ingresses = reports,
        };
        return new TranslationResult(RouteTableBuilder.Seal(table), accepted);
    }
}
