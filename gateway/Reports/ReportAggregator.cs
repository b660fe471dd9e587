using System.Globalization;
using System.Text.Json;
using AuditGateway.Audit.Entries;

namespace AuditGateway.Reports;

/// <summary>How much a report keeps: the keys tracked per table and the names listed per "top" column.</summary>
internal sealed record ReportLimits
{
    /// <summary>Routes, identities and clients tracked; later keys are counted under <see cref="ReportAggregator.Other"/>.</summary>
    public int MaxKeys { get; init; } = 100_000;

    /// <summary>Identities and clients tracked per route for its top lists.</summary>
    public int MaxKeysPerRoute { get; init; } = 10_000;

    /// <summary>Names shown in each top list.</summary>
    public int Top { get; init; } = 10;

    /// <summary>Config changes kept (the newest).</summary>
    public int MaxChanges { get; init; } = 100_000;
}

/// <summary>
/// Aggregates audit entries into every report at once: per route, identity, client and status, and
/// the config-change timeline. Entries outside [from, to) are counted as read but not included.
/// Not thread-safe: one reader feeds it (the verifier's pass, or the live feed under a lock).
/// </summary>
internal sealed class ReportAggregator(DateTimeOffset? from, DateTimeOffset? to, ReportLimits limits)
{
    public const string Other = "(other)";
    public const string NoRoute = "(no route)";
    public const string Anonymous = "(anonymous)";

    private readonly Dictionary<string, RouteStats> _routes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IdentityStats> _identities = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ClientStats> _clients = new(StringComparer.Ordinal);
    private readonly Dictionary<int, long[]> _statuses = [];
    private readonly Queue<ChangeReport> _changes = new();
    private readonly SliceGrid _grid = new(from, to);
    private bool _capped;

    public DateTimeOffset? From => from;

    public DateTimeOffset? To => to;

    public long? FirstSeq { get; private set; }

    public long? LastSeq { get; private set; }

    public long Read { get; private set; }

    public long Included { get; private set; }

    public void Add(LoggedEntry entry)
    {
        FirstSeq ??= entry.Seq;
        LastSeq = entry.Seq;
        Read++;
        if ((from is { } f && entry.Timestamp < f) || (to is { } t && entry.Timestamp >= t))
        {
            return;
        }

        Included++;
        switch (entry.Body)
        {
            case RequestBody request:
                AddRequest(entry.Timestamp, request);
                break;
            case ConfigBody config:
                AddChange(entry, config);
                break;
            case SecurityBody { Action: SecurityAction.Blocked } block:
                Slot(_clients, block.Subject, limits.MaxKeys, static () => new ClientStats()).Blocks++;
                break;
        }
    }

    private void AddRequest(DateTimeOffset time, RequestBody request)
    {
        var denied = request.Decision.Decision == Decision.Deny;
        var route = Slot(_routes, request.Route?.Id ?? NoRoute, limits.MaxKeys, static () => new RouteStats());
        route.Add(request, denied, limits.MaxKeysPerRoute);
        route.Timeline.Add(_grid, time, request.LatencyUs);

        var identity = Slot(_identities, IdentityOf(request), limits.MaxKeys, static () => new IdentityStats());
        identity.Requests++;
        identity.Denied += denied ? 1 : 0;
        identity.Routes.Add(request.Route?.Id ?? NoRoute, limits.MaxKeysPerRoute);

        var client = Slot(_clients, request.Client.Ip, limits.MaxKeys, static () => new ClientStats());
        client.Requests++;
        client.Denied += denied ? 1 : 0;

        if (!_statuses.TryGetValue(request.Status, out var status))
        {
            _statuses[request.Status] = status = new long[2];
        }

        status[0]++;
        status[1] += denied ? 1 : 0;
    }

    private void AddChange(LoggedEntry entry, ConfigBody config)
    {
        var o = config.Object;
        var effect = string.Join(" ", config.Effect.Added.Select(r => "+" + r).Concat(config.Effect.Removed.Select(r => "-" + r)).Concat(config.Effect.Changed.Select(r => "~" + r)));
        _changes.Enqueue(new ChangeReport(
            entry.Seq,
            entry.Timestamp,
            config.Actor.Username ?? "(unknown)",
            ToText(config.Actor.Via),
            ToText(config.Source),
            o.Namespace is null ? $"{o.Kind} {o.Name}" : $"{o.Kind} {o.Namespace}/{o.Name}",
            config.Operation,
            effect,
            config.Diff.GetRawText(),
            config.Errors));
        while (_changes.Count > limits.MaxChanges)
        {
            _changes.Dequeue();
            _capped = true;
        }
    }

    private static string ToText(ActorSource value) => JsonSerializer.Serialize(value, ReportJsonContext.Default.ActorSource).Trim('"');

    private static string ToText(ChangeSource value) => JsonSerializer.Serialize(value, ReportJsonContext.Default.ChangeSource).Trim('"');

    private static string IdentityOf(RequestBody request) =>
        request.Identity is { Authenticated: true, Subject: { } subject } ? subject : Anonymous;

    private TValue Slot<TValue>(Dictionary<string, TValue> map, string key, int cap, Func<TValue> create)
    {
        if (map.TryGetValue(key, out var value))
        {
            return value;
        }

        if (map.Count >= cap)
        {
            _capped = true;
            key = Other;
            if (map.TryGetValue(key, out value))
            {
                return value;
            }
        }

        map[key] = value = create();
        return value;
    }

    /// <summary>Every section, from what was added so far, with <paramref name="source"/> completed by the counts.</summary>
    public Report Build(ReportSource source) => new()
    {
        Kind = "all",
        Source = source with { From = from, To = to, FirstSeq = FirstSeq, LastSeq = LastSeq, EntriesRead = Read, EntriesIncluded = Included, Capped = _capped },
        Slices = _grid.Start is { } start && _routes.Count > 0 ? new SliceInfo(start, (long)_grid.Width.TotalMilliseconds) : null,
        Routes = [.. _routes.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Value.Report(r.Key, _grid, limits.Top))],
        Identities = [.. _identities.OrderBy(i => i.Key, StringComparer.Ordinal).Select(i => new IdentityReport(i.Key, i.Value.Requests, i.Value.Denied, i.Value.Routes.Top(int.MaxValue)))],
        Clients = [.. _clients.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => new ClientReport(c.Key, c.Value.Requests, c.Value.Denied, c.Value.Blocks))],
        Statuses = [.. _statuses.OrderBy(s => s.Key).Select(s => new StatusReport(s.Key, ClassOf(s.Key), s.Value[0], s.Value[1]))],
        Changes = [.. _changes],
    };

    public static string ClassOf(int status) => status is >= 100 and < 600 ? (status / 100).ToString(CultureInfo.InvariantCulture) + "xx" : "other";

    /// <summary>Counts by name, up to a cap of names (later names count under <see cref="Other"/>).</summary>
    private sealed class Tallies
    {
        private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);

        public void Add(string name, int cap)
        {
            if (!_counts.ContainsKey(name) && _counts.Count >= cap)
            {
                name = Other;
            }

            _counts[name] = _counts.GetValueOrDefault(name) + 1;
        }

        /// <summary>The <paramref name="n"/> most frequent, most frequent first, ties by name.</summary>
        public IReadOnlyList<Tally> Top(int n) =>
            [.. _counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Take(n).Select(c => new Tally(c.Key, c.Value))];
    }

    private sealed class RouteStats
    {
        private readonly long[] _classes = new long[5];
        private readonly LatencySketch _total = new();
        private readonly LatencySketch _upstream = new();
        private readonly LatencySketch _overhead = new();
        private readonly Tallies _rules = new();
        private readonly Tallies _identities = new();
        private readonly Tallies _clients = new();
        private long _requests;
        private long _denied;
        private long _wouldDeny;
        private long _bytesIn;
        private long _bytesOut;

        public SliceSeries Timeline { get; } = new();

        public void Add(RequestBody request, bool denied, int cap)
        {
            _requests++;
            if (request.Status is >= 100 and < 600)
            {
                _classes[(request.Status / 100) - 1]++;
            }

            if (denied)
            {
                _denied++;
                _rules.Add(request.Decision.Rule ?? "(none)", cap);
            }

            _wouldDeny += request.Decision.Decision == Decision.WouldDeny ? 1 : 0;
            _total.Add(request.LatencyUs);
            if (request.UpstreamLatencyUs is { } upstream)
            {
                _upstream.Add(upstream);
                _overhead.Add(request.LatencyUs - upstream);
            }

            _bytesIn += request.BytesIn;
            _bytesOut += request.BytesOut;
            _identities.Add(IdentityOf(request), cap);
            _clients.Add(request.Client.Ip, cap);
        }

        public RouteReport Report(string route, SliceGrid grid, int top) => new(
            route,
            _requests,
            new StatusClasses(_classes[0], _classes[1], _classes[2], _classes[3], _classes[4]),
            _denied,
            _wouldDeny,
            _rules.Top(int.MaxValue),
            LatencyStats.Of(_total),
            LatencyStats.Of(_upstream),
            LatencyStats.Of(_overhead),
            _bytesIn,
            _bytesOut,
            _identities.Top(top),
            _clients.Top(top),
            Timeline.Slices(grid));
    }

    private sealed class IdentityStats
    {
        public long Requests { get; set; }

        public long Denied { get; set; }

        public Tallies Routes { get; } = new();
    }

    private sealed class ClientStats
    {
        public long Requests { get; set; }

        public long Denied { get; set; }

        public long Blocks { get; set; }
    }
}
