using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Routing;

/// <summary>
/// One Ingress that takes part in a translation: ours by class, and either valid or, while its new
/// version is refused, served in its last accepted version. Candidates are resolved oldest first
/// (<see cref="Age"/>), which is what makes the older Ingress win anything two of them ask for.
/// </summary>
internal sealed record IngressCandidate(ObjectKey Key, Ingress Ingress, IngressAnnotations Annotations)
{
    public IReadOnlyList<ValidationError> Errors { get; init; } = [];

    public bool ServingPrevious { get; init; }

    public IngressAge Age { get; } = IngressAge.Of(Key, Ingress);

    /// <summary><c>namespace/name</c>.</summary>
    public string Name => $"{Key.Namespace}/{Key.Name}";

    /// <summary>
    /// What becomes of one Ingress: a candidate (valid, or refused but serving <paramref name="lastAccepted"/>),
    /// or null — with <paramref name="refused"/> set when it is ours, refused, and has nothing to serve.
    /// </summary>
    public static IngressCandidate? Evaluate(
        ObjectKey key, Ingress ingress, ObjectIndex index, ClassOptions classes, Ingress? lastAccepted, out IngressReport? refused)
    {
        refused = null;
        if (!IngressClassFilter.IsOurs(ingress, index.Classes, classes))
        {
            return null;
        }

        var errors = new List<ValidationError>();
        var annotations = IngressValidator.Validate(ingress, errors);
        if (errors.Count == 0)
        {
            return new IngressCandidate(key, ingress, annotations);
        }

        if (lastAccepted is not null)
        {
            return new IngressCandidate(key, lastAccepted, IngressValidator.Validate(lastAccepted, [])) { Errors = errors, ServingPrevious = true };
        }

        refused = new IngressReport { Ingress = $"{key.Namespace}/{key.Name}", Status = IngressOutcome.Refused, Errors = errors };
        return null;
    }

    /// <summary>The report of this Ingress once it has been resolved.</summary>
    public IngressReport Report(IReadOnlyList<string> warnings) => new()
    {
        Ingress = Name,
        Status = ServingPrevious ? IngressOutcome.RefusedServingPrevious : IngressOutcome.Accepted,
        Errors = Errors,
        Warnings = warnings,
    };
}

/// <summary>Precedence between Ingresses: older first (by creation time), then by namespace and name.</summary>
internal readonly record struct IngressAge(DateTimeOffset Created, string Namespace, string Name) : IComparable<IngressAge>
{
    public static IngressAge Of(ObjectKey key, Ingress ingress) =>
        new(ingress.Metadata?.CreationTimestamp ?? DateTimeOffset.MaxValue, key.Namespace, key.Name);

    public ObjectKey Key => new(ResourceKind.Ingress, Namespace, Name);

    public int CompareTo(IngressAge other)
    {
        var byTime = Created.CompareTo(other.Created);
        if (byTime != 0)
        {
            return byTime;
        }

        var byNamespace = string.CompareOrdinal(Namespace, other.Namespace);
        return byNamespace != 0 ? byNamespace : string.CompareOrdinal(Name, other.Name);
    }

    public static bool operator <(IngressAge left, IngressAge right) => left.CompareTo(right) < 0;

    public static bool operator >(IngressAge left, IngressAge right) => left.CompareTo(right) > 0;

    public static bool operator <=(IngressAge left, IngressAge right) => left.CompareTo(right) <= 0;

    public static bool operator >=(IngressAge left, IngressAge right) => left.CompareTo(right) >= 0;
}
