using System.Collections.Immutable;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Routing;

/// <summary>
/// The translator's state: the objects, every Ingress's candidate and what it resolved to, who asks
/// for each claim, TLS host and the default backend, and the table they make. Immutable: <see cref="Apply"/>
/// gives the next model and leaves this one as it was, so a reconcile that fails changes nothing.
/// A change costs what it changes: only the Ingresses it touches are evaluated again, and only they
/// and the Ingresses sharing a claim, TLS host or the default backend whose owner changed are
/// resolved again; the matcher is rebuilt for their hosts only, and the diff compares only their routes.
/// </summary>
internal sealed class RoutingModel : IClaimOwners
{
    private static readonly ImmutableSortedSet<IngressAge> NoAges = ImmutableSortedSet<IngressAge>.Empty;

    private RoutingModel(ClassOptions classes)
    {
        Classes = classes;
    }

    public ClassOptions Classes { get; }

    public ObjectIndex Index { get; private init; } = ObjectIndex.Empty;

    /// <summary>The version of each Ingress that serves (valid now, or its last valid version while refused).</summary>
    public ImmutableDictionary<ObjectKey, Ingress> Accepted { get; private init; } = ImmutableDictionary<ObjectKey, Ingress>.Empty;

    public RouteTable Table { get; private init; } = RouteTable.Empty;

    private ImmutableDictionary<ObjectKey, CandidatePlan> Plans { get; init; } = ImmutableDictionary<ObjectKey, CandidatePlan>.Empty;

    /// <summary>Every candidate's result, oldest first: the order of the table's routes.</summary>
    private ImmutableSortedDictionary<IngressAge, CandidateResult> Results { get; init; } = ImmutableSortedDictionary<IngressAge, CandidateResult>.Empty;

    /// <summary>Every report (candidates and refused Ingresses) by name, with its hash.</summary>
    private ImmutableSortedDictionary<string, (IngressReport Report, byte[] Hash)> Reports { get; init; } =
        ImmutableSortedDictionary.Create<string, (IngressReport, byte[])>(StringComparer.Ordinal);

    private ImmutableSortedDictionary<string, (TlsBinding Binding, byte[] Hash)> Bindings { get; init; } =
        ImmutableSortedDictionary.Create<string, (TlsBinding, byte[])>(StringComparer.Ordinal);

    private ImmutableDictionary<RouteClaim, ImmutableSortedSet<IngressAge>> Claims { get; init; } = ImmutableDictionary<RouteClaim, ImmutableSortedSet<IngressAge>>.Empty;

    private ImmutableDictionary<string, ImmutableSortedSet<IngressAge>> TlsHosts { get; init; } = ImmutableDictionary.Create<string, ImmutableSortedSet<IngressAge>>(StringComparer.Ordinal);

    /// <summary>Rule hosts (<c>""</c>: rules without a host) and the candidates with rules for them.</summary>
    private ImmutableDictionary<string, ImmutableSortedSet<IngressAge>> Hosts { get; init; } = ImmutableDictionary.Create<string, ImmutableSortedSet<IngressAge>>(StringComparer.Ordinal);

    private ImmutableSortedSet<IngressAge> Defaults { get; init; } = NoAges;

    /// <summary>Which Ingresses read each Service and each Secret (namespace, name).</summary>
    private ImmutableDictionary<(string, string), ImmutableHashSet<ObjectKey>> ServiceUsers { get; init; } = ImmutableDictionary<(string, string), ImmutableHashSet<ObjectKey>>.Empty;

    private ImmutableDictionary<(string, string), ImmutableHashSet<ObjectKey>> SecretUsers { get; init; } = ImmutableDictionary<(string, string), ImmutableHashSet<ObjectKey>>.Empty;

    /// <summary>How many routes have a policy, and how many a path with case: both above 0 needs the matcher's case-insensitive twin.</summary>
    private (int Policies, int Cased) Counts { get; init; }

    public IngressAge? DefaultBackendOwner => Defaults.Count == 0 ? null : Defaults.Min;

    public static RoutingModel Empty(ClassOptions classes, IReadOnlyDictionary<ObjectKey, Ingress>? lastAccepted = null) =>
        new(classes) { Accepted = lastAccepted?.ToImmutableDictionary() ?? ImmutableDictionary<ObjectKey, Ingress>.Empty };

    public IngressAge OwnerOf(RouteClaim claim) => Claims[claim].Min;

    public (IngressAge Owner, string Secret) TlsOwnerOf(string host)
    {
        var owner = TlsHosts[host].Min;
        return (owner, Plans[owner.Key].TlsSecrets[host]);
    }

    /// <summary>The model with the batch applied, and what it did to the table.</summary>
    public RoutingStep Apply(IReadOnlyList<ResourceChange> changes)
    {
        var builder = new Builder(this, Index.With(changes));
        foreach (var key in Dirty(changes, builder.Index))
        {
            builder.Evaluate(key);
        }

        return builder.Finish();
    }

    /// <summary>The Ingresses whose candidate may change: those changed, those reading a changed Service, EndpointSlice or Secret; all of them when an IngressClass changed.</summary>
    private HashSet<ObjectKey> Dirty(IReadOnlyList<ResourceChange> changes, ObjectIndex next)
    {
        var dirty = new HashSet<ObjectKey>();
        void Users(ImmutableDictionary<(string, string), ImmutableHashSet<ObjectKey>> users, string ns, string? name)
        {
            if (name is not null && users.TryGetValue((ns, name), out var keys))
            {
                dirty.UnionWith(keys);
            }
        }

        foreach (var change in changes)
        {
            var key = change.Key;
            switch (key.Kind)
            {
                case ResourceKind.Ingress:
                    dirty.Add(key);
                    break;
                case ResourceKind.IngressClass:
                    dirty.UnionWith(Index.Ingresses.Keys);
                    dirty.UnionWith(next.Ingresses.Keys);
                    break;
                case ResourceKind.Service:
                    Users(ServiceUsers, key.Namespace, key.Name);
                    break;
                case ResourceKind.EndpointSlice:
                    Users(ServiceUsers, key.Namespace, ObjectIndex.OwnerOf(change.Old));
                    Users(ServiceUsers, key.Namespace, ObjectIndex.OwnerOf(change.New));
                    break;
                case ResourceKind.Secret:
                    Users(SecretUsers, key.Namespace, key.Name);
                    break;
            }
        }

        return dirty;
    }

    /// <summary>Builds the next model from this one.</summary>
    private sealed class Builder : IClaimOwners
    {
        private readonly RoutingModel _before;
        private readonly ImmutableDictionary<ObjectKey, Ingress>.Builder _accepted;
        private readonly ImmutableDictionary<ObjectKey, CandidatePlan>.Builder _plans;
        private readonly ImmutableSortedDictionary<IngressAge, CandidateResult>.Builder _results;
        private readonly ImmutableSortedDictionary<string, (IngressReport Report, byte[] Hash)>.Builder _reports;
        private readonly ImmutableSortedDictionary<string, (TlsBinding Binding, byte[] Hash)>.Builder _bindings;
        private readonly ImmutableDictionary<RouteClaim, ImmutableSortedSet<IngressAge>>.Builder _claims;
        private readonly ImmutableDictionary<string, ImmutableSortedSet<IngressAge>>.Builder _tlsHosts;
        private readonly ImmutableDictionary<string, ImmutableSortedSet<IngressAge>>.Builder _hosts;
        private readonly ImmutableDictionary<(string, string), ImmutableHashSet<ObjectKey>>.Builder _serviceUsers;
        private readonly ImmutableDictionary<(string, string), ImmutableHashSet<ObjectKey>>.Builder _secretUsers;
        private ImmutableSortedSet<IngressAge> _defaults;

        /// <summary>Claims, TLS hosts and the default backend whose askers changed: their owner may have.</summary>
        private readonly HashSet<RouteClaim> _touchedClaims = [];
        private readonly HashSet<string> _touchedTls = new(StringComparer.Ordinal);
        private readonly HashSet<ObjectKey> _evaluated = [];

        /// <summary>Per Ingress resolved again: its result before (null: it was no candidate).</summary>
        private readonly Dictionary<ObjectKey, CandidateResult?> _previous = [];

        public Builder(RoutingModel before, ObjectIndex index)
        {
            _before = before;
            Index = index;
            _accepted = before.Accepted.ToBuilder();
            _plans = before.Plans.ToBuilder();
            _results = before.Results.ToBuilder();
            _reports = before.Reports.ToBuilder();
            _bindings = before.Bindings.ToBuilder();
            _claims = before.Claims.ToBuilder();
            _tlsHosts = before.TlsHosts.ToBuilder();
            _hosts = before.Hosts.ToBuilder();
            _serviceUsers = before.ServiceUsers.ToBuilder();
            _secretUsers = before.SecretUsers.ToBuilder();
            _defaults = before.Defaults;
        }

        public ObjectIndex Index { get; }

        public IngressAge? DefaultBackendOwner => _defaults.Count == 0 ? null : _defaults.Min;

        public IngressAge OwnerOf(RouteClaim claim) => _claims[claim].Min;

        public (IngressAge Owner, string Secret) TlsOwnerOf(string host)
        {
            var owner = _tlsHosts[host].Min;
            return (owner, _plans[owner.Key].TlsSecrets[host]);
        }

        /// <summary>Takes the Ingress's old candidate out of every registry and puts its new one in.</summary>
        public void Evaluate(ObjectKey key)
        {
            _evaluated.Add(key);
            var name = $"{key.Namespace}/{key.Name}";
            if (_plans.TryGetValue(key, out var old))
            {
                Unregister(old);
            }
            else
            {
                _previous.TryAdd(key, null);
            }

            _reports.Remove(name);

            _accepted.Remove(key);
            if (!Index.Ingresses.TryGetValue(key, out var ingress))
            {
                return;
            }

            var candidate = IngressCandidate.Evaluate(key, ingress, Index, _before.Classes, _before.Accepted.GetValueOrDefault(key), out var refused);
            if (candidate is null)
            {
                if (refused is not null)
                {
                    _reports[name] = (refused, RouteTableBuilder.HashOf(refused));
                }

                return;
            }

            _accepted[key] = candidate.Ingress;
            Register(CandidatePlan.Of(candidate, Index));
        }

        public RoutingStep Finish()
        {
            // Everyone sharing a claim, TLS host or the default backend whose owner changed is resolved again: their warnings name the owner.
            var resolve = new HashSet<ObjectKey>(_evaluated.Where(_plans.ContainsKey));
            foreach (var claim in _touchedClaims)
            {
                AddIfOwnerChanged(resolve, _before.Claims.GetValueOrDefault(claim), _claims.GetValueOrDefault(claim));
            }

            foreach (var host in _touchedTls)
            {
                AddIfOwnerChanged(resolve, _before.TlsHosts.GetValueOrDefault(host), _tlsHosts.GetValueOrDefault(host));
            }

            AddIfOwnerChanged(resolve, _before.Defaults, _defaults);

            var hosts = new HashSet<string>(StringComparer.Ordinal);
            var changedReports = new List<IngressReport>();
            var (policies, cased) = _before.Counts;
            // Every old binding of those resolved again goes before any new one comes: a host may pass from one to another.
            foreach (var key in resolve)
            {
                if (_before.Plans.TryGetValue(key, out var was))
                {
                    var old = _before.Results[was.Candidate.Age];
                    _previous.TryAdd(key, old);
                    foreach (var host in old.Bindings.Keys)
                    {
                        _bindings.Remove(host);
                    }
                }
            }

            foreach (var key in resolve)
            {
                var plan = _plans[key];
                var result = RouteClaims.Resolve(plan, this, Index);
                _results[plan.Candidate.Age] = result;
                foreach (var (host, binding) in result.Bindings)
                {
                    _bindings[host] = (binding, RouteTableBuilder.HashOf(binding));
                }

                _reports[plan.Candidate.Name] = (result.Report, result.ReportHash);
            }

            var removed = new List<(IngressRoute, byte[])>();
            var added = new List<(IngressRoute, byte[])>();
            foreach (var (key, before) in _previous)
            {
                var after = _plans.TryGetValue(key, out var plan) ? _results[plan.Candidate.Age] : null;
                for (var i = 0; i < (before?.Routes.Count ?? 0); i++)
                {
                    var route = before!.Routes[i];
                    hosts.Add(route.Host ?? "");
                    removed.Add((route, before.RouteHashes[i]));
                    policies -= route.Policy is null ? 0 : 1;
                    cased -= RouteMatcher.HasCase(route) ? 1 : 0;
                }

                for (var i = 0; i < (after?.Routes.Count ?? 0); i++)
                {
                    var route = after!.Routes[i];
                    hosts.Add(route.Host ?? "");
                    added.Add((route, after.RouteHashes[i]));
                    policies += route.Policy is null ? 0 : 1;
                    cased += RouteMatcher.HasCase(route) ? 1 : 0;
                }

                var name = $"{key.Namespace}/{key.Name}";
                var now = _reports.GetValueOrDefault(name);
                var then = before?.ReportHash ?? _before.Reports.GetValueOrDefault(name).Hash;
                if (now.Report is not null && (then is null || !then.AsSpan().SequenceEqual(now.Hash)))
                {
                    changedReports.Add(now.Report);
                }
            }

            var results = _results.ToImmutable();
            var defaults = _defaults;
            static (IngressRoute, byte[])? DefaultOf(ImmutableSortedSet<IngressAge> set, ImmutableSortedDictionary<IngressAge, CandidateResult> of) =>
                set.Count == 0 || of[set.Min] is not { DefaultRoute: { } route, DefaultHash: { } hash } ? null : (route, hash);
            var defaultBefore = DefaultOf(_before.Defaults, _before.Results);
            var defaultAfter = DefaultOf(defaults, results)?.Item1;
            var hostsIndex = _hosts.ToImmutable();
            var bindings = _bindings.ToImmutable();
            var reports = _reports.ToImmutable();
            var routes = results.Values.SelectMany(r => r.Routes).ToArray();
            var defaultHash = defaults.Count == 0 ? null : results[defaults.Min].DefaultHash;
            var table = new RouteTable
            {
                Revision = RouteTableBuilder.Revision(
                    results.Values.SelectMany(r => r.RouteHashes), defaultHash, bindings.Values.Select(b => b.Hash), reports.Values.Select(r => r.Hash)),
                Routes = routes,
                DefaultBackend = defaultAfter,
                Tls = [.. bindings.Values.Select(b => b.Binding)],
                Ingresses = [.. reports.Values.Select(r => r.Report)],
                Matcher = _before.Table.Matcher.With(
                    hosts,
                    host => hostsIndex.TryGetValue(host, out var members)
                        ? members.SelectMany(m => results[m].Routes).Where(r => (r.Host ?? "") == host)
                        : [],
                    defaultAfter,
                    caseless: policies > 0 && cased > 0,
                    () => routes),
            };

            var next = new RoutingModel(_before.Classes)
            {
                Index = Index,
                Accepted = _accepted.ToImmutable(),
                Table = table,
                Plans = _plans.ToImmutable(),
                Results = results,
                Reports = reports,
                Bindings = bindings,
                Claims = _claims.ToImmutable(),
                TlsHosts = _tlsHosts.ToImmutable(),
                Hosts = hostsIndex,
                Defaults = defaults,
                ServiceUsers = _serviceUsers.ToImmutable(),
                SecretUsers = _secretUsers.ToImmutable(),
                Counts = (policies, cased),
            };
            var diff = RouteTableDiff.Between(removed, added, defaultBefore, DefaultOf(defaults, results));
            return new RoutingStep(next, diff, changedReports);
        }

        private static void AddIfOwnerChanged(HashSet<ObjectKey> resolve, ImmutableSortedSet<IngressAge>? before, ImmutableSortedSet<IngressAge>? after)
        {
            var was = before is { Count: > 0 } ? before.Min : (IngressAge?)null;
            var now = after is { Count: > 0 } ? after.Min : (IngressAge?)null;
            if (was != now && after is not null)
            {
                resolve.UnionWith(after.Select(a => a.Key));
            }
        }

        private void Register(CandidatePlan plan)
        {
            var age = plan.Candidate.Age;
            var key = plan.Candidate.Key;
            _plans[key] = plan;
            foreach (var claim in plan.Claims)
            {
                _claims[claim] = _claims.GetValueOrDefault(claim, NoAges).Add(age);
                _touchedClaims.Add(claim);
            }

            foreach (var host in plan.TlsSecrets.Keys)
            {
                _tlsHosts[host] = _tlsHosts.GetValueOrDefault(host, NoAges).Add(age);
                _touchedTls.Add(host);
            }

            foreach (var host in plan.Hosts)
            {
                _hosts[host] = _hosts.GetValueOrDefault(host, NoAges).Add(age);
            }

            if (plan.HasDefaultBackend)
            {
                _defaults = _defaults.Add(age);
            }

            foreach (var service in plan.Services)
            {
                Use(_serviceUsers, (key.Namespace, service), key, add: true);
            }

            foreach (var secret in plan.Secrets)
            {
                Use(_secretUsers, (key.Namespace, secret), key, add: true);
            }
        }

        private void Unregister(CandidatePlan plan)
        {
            var age = plan.Candidate.Age;
            var key = plan.Candidate.Key;
            var old = _results[age];
            _previous.TryAdd(key, old);
            _plans.Remove(key);
            _results.Remove(age);
            foreach (var host in old.Bindings.Keys)
            {
                _bindings.Remove(host);
            }

            foreach (var claim in plan.Claims)
            {
                Without(_claims, claim, age);
                _touchedClaims.Add(claim);
            }

            foreach (var host in plan.TlsSecrets.Keys)
            {
                Without(_tlsHosts, host, age);
                _touchedTls.Add(host);
            }

            foreach (var host in plan.Hosts)
            {
                Without(_hosts, host, age);
            }

            _defaults = _defaults.Remove(age);
            foreach (var service in plan.Services)
            {
                Use(_serviceUsers, (key.Namespace, service), key, add: false);
            }

            foreach (var secret in plan.Secrets)
            {
                Use(_secretUsers, (key.Namespace, secret), key, add: false);
            }
        }

        private static void Without<TKey>(ImmutableDictionary<TKey, ImmutableSortedSet<IngressAge>>.Builder registry, TKey key, IngressAge age)
            where TKey : notnull
        {
            var rest = registry[key].Remove(age);
            if (rest.IsEmpty)
            {
                registry.Remove(key);
            }
            else
            {
                registry[key] = rest;
            }
        }

        private static void Use(ImmutableDictionary<(string, string), ImmutableHashSet<ObjectKey>>.Builder users, (string, string) target, ObjectKey key, bool add)
        {
            var set = users.GetValueOrDefault(target) ?? [];
            set = add ? set.Add(key) : set.Remove(key);
            if (set.IsEmpty)
            {
                users.Remove(target);
            }
            else
            {
                users[target] = set;
            }
        }
    }
}

/// <summary>A model after a batch: the next model (its table), what the batch did to the routes, and the Ingress reports that changed.</summary>
internal sealed record RoutingStep(RoutingModel Model, RouteTableDiff Effect, IReadOnlyList<IngressReport> ChangedReports);
