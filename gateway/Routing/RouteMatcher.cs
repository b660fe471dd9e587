namespace AuditGateway.Routing;

/// <summary>
/// Finds the route for a host and path with Ingress v1 semantics. Hosts are tried most
/// specific first (exact, then the one-label wildcard, then rules without a host); within
/// a host the longest matching path wins and, at equal length, <c>Exact</c> beats <c>Prefix</c>.
/// A host whose rules match no path falls through to the less specific hosts, then to the
/// default backend. Lookups are dictionary probes: one per path element.
/// </summary>
internal sealed class RouteMatcher
{
    public static readonly RouteMatcher Empty = new([], null);

    private readonly Dictionary<string, PathTable> _exactHosts;
    private readonly Dictionary<string, PathTable> _wildcardHosts;
    private readonly Dictionary<string, PathTable>.AlternateLookup<ReadOnlySpan<char>> _exactLookup;
    private readonly Dictionary<string, PathTable>.AlternateLookup<ReadOnlySpan<char>> _wildcardLookup;
    private readonly PathTable? _anyHost;
    private readonly IngressRoute? _defaultBackend;
    private readonly bool _ignoreCase;

    /// <summary>
    /// The same routes with paths compared case-insensitively; only when some route has a policy and
    /// some path has a letter with case (without one, ignoring case cannot find another route).
    /// </summary>
    private readonly RouteMatcher? _caseless;

    /// <param name="routes">Routes in precedence order for equal keys (the first wins).</param>
    public RouteMatcher(IEnumerable<IngressRoute> routes, IngressRoute? defaultBackend)
        : this([.. routes], defaultBackend, ignoreCase: false)
    {
    }

    private RouteMatcher(IReadOnlyList<IngressRoute> routes, IngressRoute? defaultBackend, bool ignoreCase)
    {
        _defaultBackend = defaultBackend;
        _ignoreCase = ignoreCase;
        if (!ignoreCase && NeedsCaseless(routes))
        {
            _caseless = new RouteMatcher(routes, null, ignoreCase: true);
        }

        _exactHosts = new(StringComparer.OrdinalIgnoreCase);
        _wildcardHosts = new(StringComparer.OrdinalIgnoreCase);
        foreach (var group in routes.GroupBy(r => r.Host ?? "", StringComparer.Ordinal))
        {
            var table = new PathTable(group, ignoreCase);
            if (group.Key.Length == 0)
            {
                _anyHost = table;
            }
            else
            {
                (group.Key.StartsWith("*.", StringComparison.Ordinal) ? _wildcardHosts : _exactHosts)[HostKey(group.Key)] = table;
            }
        }

        _exactLookup = _exactHosts.GetAlternateLookup<ReadOnlySpan<char>>();
        _wildcardLookup = _wildcardHosts.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    private RouteMatcher(RouteMatcher previous, IReadOnlyCollection<string> hosts, Func<string, IEnumerable<IngressRoute>> routesOf, IngressRoute? defaultBackend, RouteMatcher? caseless)
    {
        _defaultBackend = defaultBackend;
        _ignoreCase = previous._ignoreCase;
        _caseless = caseless;
        _exactHosts = new(previous._exactHosts, StringComparer.OrdinalIgnoreCase);
        _wildcardHosts = new(previous._wildcardHosts, StringComparer.OrdinalIgnoreCase);
        _anyHost = previous._anyHost;
        foreach (var host in hosts)
        {
            var routes = routesOf(host).ToList();
            var table = routes.Count == 0 ? null : new PathTable(routes, _ignoreCase);
            if (host.Length == 0)
            {
                _anyHost = table;
                continue;
            }

            var tables = host.StartsWith("*.", StringComparison.Ordinal) ? _wildcardHosts : _exactHosts;
            if (table is null)
            {
                tables.Remove(HostKey(host));
            }
            else
            {
                tables[HostKey(host)] = table;
            }
        }

        _exactLookup = _exactHosts.GetAlternateLookup<ReadOnlySpan<char>>();
        _wildcardLookup = _wildcardHosts.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>
    /// This matcher with the paths of <paramref name="hosts"/> (lower case, <c>*.suffix</c>, or <c>""</c>
    /// for rules without a host) replaced by <paramref name="routesOf"/> each, in precedence order; the
    /// other hosts' tables are shared. <paramref name="all"/> gives every route, for when the
    /// case-insensitive twin comes into being.
    /// </summary>
    public RouteMatcher With(
        IReadOnlyCollection<string> hosts, Func<string, IEnumerable<IngressRoute>> routesOf, IngressRoute? defaultBackend, bool caseless, Func<IReadOnlyList<IngressRoute>> all)
    {
        var twin = !caseless ? null
            : _caseless is { } existing ? new RouteMatcher(existing, hosts, routesOf, null, null)
            : new RouteMatcher(all(), null, ignoreCase: true);
        return new RouteMatcher(this, hosts, routesOf, defaultBackend, twin);
    }

    /// <summary>Whether a table of these routes needs the case-insensitive twin (see <see cref="MatchIgnoringCase"/>).</summary>
    public static bool NeedsCaseless(IReadOnlyCollection<IngressRoute> routes) =>
        routes.Any(r => r.Policy is not null) && routes.Any(r => HasCase(r));

    /// <summary>Whether the route's path has a letter with case.</summary>
    public static bool HasCase(IngressRoute route) => route.Path is { } p && HasCase(p);

    /// <summary>
    /// The route the path matches when case is ignored, if any route has a policy: a request
    /// spelled <c>/ADMIN</c> must still meet the rules of <c>/admin</c>.
    /// </summary>
    public IngressRoute? MatchIgnoringCase(ReadOnlySpan<char> host, string path) =>
        _caseless?.Match(host, path.ToLowerInvariant());

    /// <summary>The route for the request, the default backend, or null for "no route".</summary>
    /// <param name="host">The host without port.</param>
    /// <param name="path">The request path (decoded, as the server gives it).</param>
    public IngressRoute? Match(ReadOnlySpan<char> host, string path)
    {
        if (host.Length > 0 && host[^1] == '.')
        {
            host = host[..^1];
        }

        if (_exactLookup.TryGetValue(host, out var exact) && exact.Match(path) is { } byExact)
        {
            return byExact;
        }

        var dot = host.IndexOf('.');
        if (dot > 0 && _wildcardLookup.TryGetValue(host[(dot + 1)..], out var wildcard) && wildcard.Match(path) is { } byWildcard)
        {
            return byWildcard;
        }

        return _anyHost?.Match(path) ?? _defaultBackend;
    }

    private static bool HasCase(string path) =>
        !path.Equals(path.ToLowerInvariant(), StringComparison.Ordinal) || !path.Equals(path.ToUpperInvariant(), StringComparison.Ordinal);

    /// <summary>A route's host as the host tables key it: an exact host, or a wildcard's suffix.</summary>
    private static string HostKey(string host) => host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;

    /// <summary>The paths of one host.</summary>
    private sealed class PathTable
    {
        private readonly Dictionary<string, IngressRoute> _exact = new(StringComparer.Ordinal);

        /// <summary>Keyed by the prefix without trailing slashes; <c>/</c> is the empty key.</summary>
        private readonly Dictionary<string, IngressRoute> _prefix = new(StringComparer.Ordinal);

        private readonly Dictionary<string, IngressRoute>.AlternateLookup<ReadOnlySpan<char>> _prefixLookup;

        public PathTable(IEnumerable<IngressRoute> routes, bool ignoreCase)
        {
            _prefixLookup = _prefix.GetAlternateLookup<ReadOnlySpan<char>>();
            foreach (var route in routes)
            {
                Add(route, ignoreCase);
            }
        }

        private void Add(IngressRoute route, bool ignoreCase)
        {
            var path = ignoreCase ? route.Path!.ToLowerInvariant() : route.Path!;
            if (route.PathType == "Exact")
            {
                _exact.TryAdd(path, route);
            }
            else
            {
                _prefix.TryAdd(path.TrimEnd('/'), route);
            }
        }

        public IngressRoute? Match(string path)
        {
            // An Exact hit is as long as the request path itself, so nothing can be longer.
            if (_exact.Count > 0 && _exact.TryGetValue(path, out var exact))
            {
                return exact;
            }

            if (_prefix.Count == 0)
            {
                return null;
            }

            var candidate = path.AsSpan().TrimEnd('/');
            while (true)
            {
                if (_prefixLookup.TryGetValue(candidate, out var route))
                {
                    return route;
                }

                if (candidate.Length == 0)
                {
                    return null;
                }

                var slash = candidate.LastIndexOf('/');
                candidate = slash < 0 ? [] : candidate[..slash];
            }
        }
    }
}
