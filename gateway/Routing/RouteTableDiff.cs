using System.Text.Json;

namespace AuditGateway.Routing;

/// <summary>What a new table did to the routes: ids added, removed and changed.</summary>
internal sealed record RouteTableDiff(IReadOnlyList<string> Added, IReadOnlyList<string> Removed, IReadOnlyList<string> Changed)
{
    public bool IsEmpty => Added.Count == 0 && Removed.Count == 0 && Changed.Count == 0;

    public static RouteTableDiff Compute(RouteTable before, RouteTable after)
    {
        var old = Index(before);
        var now = Index(after);
        var added = now.Keys.Where(id => !old.ContainsKey(id)).Order(StringComparer.Ordinal).ToList();
        var removed = old.Keys.Where(id => !now.ContainsKey(id)).Order(StringComparer.Ordinal).ToList();
        var changed = now.Where(p => old.TryGetValue(p.Key, out var o) && !Same(o, p.Value))
            .Select(p => p.Key).Order(StringComparer.Ordinal).ToList();
        return new RouteTableDiff(added, removed, changed);
    }

    private static Dictionary<string, IngressRoute> Index(RouteTable table)
    {
        var routes = table.Routes.ToDictionary(r => r.Id, StringComparer.Ordinal);
        if (table.DefaultBackend is { } fallback)
        {
            routes[fallback.Id] = fallback;
        }

        return routes;
    }

    /// <summary>Routes hold lists, so record equality would compare references; compare their JSON.</summary>
    private static bool Same(IngressRoute a, IngressRoute b) =>
        a == b || JsonSerializer.Serialize(a, RoutingJsonContext.Default.IngressRoute) == JsonSerializer.Serialize(b, RoutingJsonContext.Default.IngressRoute);
}
