using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Routing;

/// <summary>
/// Turns Ingresses and the objects they refer to into a route table (docs/annotations.md), from
/// scratch: the <see cref="RoutingModel"/> the pipeline keeps up to date, built from nothing. A pure
/// function: the same input gives the same table and revision. Each step is its own type:
/// <see cref="IngressCandidate"/> (which Ingresses take part, oldest first), <see cref="TlsBindings"/>
/// (certificates per host), <see cref="RouteClaims"/> (who serves each host and path) and
/// <see cref="BackendResolver"/> (where a route's requests go).
/// </summary>
internal static class IngressTranslator
{
    public static TranslationResult Translate(TranslationInput input)
    {
        // A last accepted version of an Ingress that is gone is dropped, as its deletion would.
        var gone = input.LastAccepted.Keys.Where(k => !input.Objects.ContainsKey(k)).Select(k => new ResourceChange(k, null, null));
        var step = RoutingModel.Empty(input.Classes, input.LastAccepted)
            .Apply([.. input.Objects.Select(o => new ResourceChange(o.Key, null, o.Value)), .. gone]);
        return new TranslationResult(step.Model.Table, step.Model.Accepted);
    }
}
