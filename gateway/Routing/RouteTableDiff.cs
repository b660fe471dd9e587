namespace AuditGateway.Routing;

/// <summary>What a new table did to the routes: ids added, removed and changed.</summary>
internal sealed class RouteTableDiff(IReadOnlyList<string> added, IReadOnlyList<string> removed, IReadOnlyList<string> changed)
{
    private ILookup<RouteOwner, string>? _owners;
    private (HashSet<string> Added, HashSet<string> Removed, HashSet<string> Changed)? _sets;

    public IReadOnlyList<string> Added => added;

    public IReadOnlyList<string> Removed => removed;

    public IReadOnlyList<string> Changed => changed;

    /// <summary>Every version (before and after) of each route named, for <see cref="Owners"/>.</summary>
    public IReadOnlyList<IngressRoute> Routes { get; init; } = [];

    public bool IsEmpty => Added.Count == 0 && Removed.Count == 0 && Changed.Count == 0;

    /// <summary>The ids named, by the Ingress they belong to and by the Service they send to.</summary>
    public ILookup<RouteOwner, string> Owners => _owners ??= Routes
        .SelectMany(r => (RouteOwner[])[new(r.Namespace, r.Ingress, IsService: false), new(r.Namespace, r.Backend.Service, IsService: true)], (r, o) => (Owner: o, r.Id))
        .Distinct()
        .ToLookup(p => p.Owner, p => p.Id);

    /// <summary>The part of this diff naming <paramref name="ids"/> (in the same order: ordinal), at the cost of those ids, not of the whole diff.</summary>
    public RouteTableDiff Restrict(IReadOnlyCollection<string> ids)
    {
        var (added, removed, changed) = _sets ??= (
            new HashSet<string>(Added, StringComparer.Ordinal), new HashSet<string>(Removed, StringComparer.Ordinal), new HashSet<string>(Changed, StringComparer.Ordinal));
        List<string> Of(HashSet<string> set) => [.. ids.Where(set.Contains).Order(StringComparer.Ordinal)];
        return new RouteTableDiff(Of(added), Of(removed), Of(changed));
    }

    /// <summary>
    /// The diff between the routes of the Ingresses resolved again, before and after (with their
    /// content hashes), and the default backend before and after. Every other route is the same
    /// object in both tables, so this is the diff of the whole tables.
    /// </summary>
    public static RouteTableDiff Between(
        IReadOnlyList<(IngressRoute Route, byte[] Hash)> before,
        IReadOnlyList<(IngressRoute Route, byte[] Hash)> after,
        (IngressRoute Route, byte[] Hash)? defaultBefore,
        (IngressRoute Route, byte[] Hash)? defaultAfter)
    {
        var old = Index(before, defaultBefore);
        var now = Index(after, defaultAfter);
        var named = new List<IngressRoute>();
        var added = new List<string>();
        var changed = new List<string>();
        foreach (var (id, (route, hash)) in now)
        {
            if (!old.TryGetValue(id, out var was))
            {
                added.Add(id);
                named.Add(route);
            }
            else if (!hash.AsSpan().SequenceEqual(was.Hash))
            {
                changed.Add(id);
                named.Add(route);
                named.Add(was.Route);
            }
        }

        var removed = new List<string>();
        foreach (var (id, (route, _)) in old)
        {
            if (!now.ContainsKey(id))
            {
                removed.Add(id);
                named.Add(route);
            }
        }

        added.Sort(StringComparer.Ordinal);
        removed.Sort(StringComparer.Ordinal);
        changed.Sort(StringComparer.Ordinal);
        return new RouteTableDiff(added, removed, changed) { Routes = named };
    }

    private static Dictionary<string, (IngressRoute Route, byte[] Hash)> Index(
        IReadOnlyList<(IngressRoute Route, byte[] Hash)> routes, (IngressRoute Route, byte[] Hash)? fallback)
    {
        var index = new Dictionary<string, (IngressRoute, byte[])>(StringComparer.Ordinal);
        foreach (var (route, hash) in routes)
        {
            index[route.Id] = (route, hash);
        }

        if (fallback is { } f)
        {
            index[f.Route.Id] = f;
        }

        return index;
    }
}

/// <summary>An Ingress, or a Service (by its name in the Ingress's namespace), that routes belong to.</summary>
internal readonly record struct RouteOwner(string Namespace, string Name, bool IsService);
