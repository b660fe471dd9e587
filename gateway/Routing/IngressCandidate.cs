using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Routing;

/// <summary>
/// One Ingress that takes part in a translation: ours by class, and either valid or, while its new
/// version is refused, served in its last accepted version. Candidates are translated oldest first,
/// which is what makes the older Ingress win anything two of them ask for.
/// </summary>
internal sealed record IngressCandidate(ObjectKey Key, Ingress Ingress, IngressAnnotations Annotations, List<string> Warnings)
{
    public IReadOnlyList<ValidationError> Errors { get; init; } = [];

    public bool ServingPrevious { get; init; }

    /// <summary>
    /// The input's candidates, oldest first. <paramref name="accepted"/> receives the version of each
    /// Ingress that serves; <paramref name="reports"/> the Ingresses refused with nothing to serve.
    /// </summary>
    public static List<IngressCandidate> Collect(
        TranslationInput input, ObjectIndex index, Dictionary<ObjectKey, Ingress> accepted, List<IngressReport> reports)
    {
        var candidates = new List<IngressCandidate>();
        foreach (var (key, ingress) in index.Ingresses)
        {
            if (!IngressClassFilter.IsOurs(ingress, index.Classes, input.Classes))
            {
                continue;
            }

            var errors = new List<ValidationError>();
            var annotations = IngressValidator.Validate(ingress, errors);
            var name = $"{key.Namespace}/{key.Name}";
            if (errors.Count == 0)
            {
                accepted[key] = ingress;
                candidates.Add(new IngressCandidate(key, ingress, annotations, []));
                continue;
            }

            if (input.LastAccepted.TryGetValue(key, out var previous))
            {
                accepted[key] = previous;
                var previousAnnotations = IngressValidator.Validate(previous, []);
                candidates.Add(new IngressCandidate(key, previous, previousAnnotations, []) { Errors = errors, ServingPrevious = true });
            }
            else
            {
                reports.Add(new IngressReport { Ingress = name, Status = IngressOutcome.Refused, Errors = errors });
            }
        }

        candidates.Sort(static (a, b) => CompareAge(a, b));
        return candidates;
    }

    /// <summary>The report of this Ingress once it has been translated.</summary>
    public IngressReport Report() => new()
    {
        Ingress = $"{Key.Namespace}/{Key.Name}",
        Status = ServingPrevious ? IngressOutcome.RefusedServingPrevious : IngressOutcome.Accepted,
        Errors = Errors,
        Warnings = Warnings,
    };

    /// <summary>Older first (by creation time), then by namespace and name.</summary>
    private static int CompareAge(IngressCandidate a, IngressCandidate b)
    {
        var byTime = (a.Ingress.Metadata?.CreationTimestamp ?? DateTimeOffset.MaxValue)
            .CompareTo(b.Ingress.Metadata?.CreationTimestamp ?? DateTimeOffset.MaxValue);
        if (byTime != 0)
        {
            return byTime;
        }

        var byNamespace = string.CompareOrdinal(a.Key.Namespace, b.Key.Namespace);
        return byNamespace != 0 ? byNamespace : string.CompareOrdinal(a.Key.Name, b.Key.Name);
    }
}
