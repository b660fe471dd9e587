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
/// <paramref name="timeline"/> is the span the timelines' slices divide when it is known before the
/// first entry (the rollups' minutes); otherwise [from, to), or the grid grows as entries come.
/// </summary>
internal sealed class ReportAggregator(DateTimeOffset? from, DateTimeOffset? to, ReportLimits limits, (DateTimeOffset From, DateTimeOffset To)? timeline = null)
{
    public const string Other = "(other)";
    public const string NoRoute = "(no route)";
    public const string Anonymous = "(anonymous)";

    private readonly Dictionary<string, RouteAccumulator> _routes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IdentityStats> _identities = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ClientStats> _clients = new(StringComparer.Ordinal);
    private readonly Dictionary<int, long[]> _statuses = [];
    private readonly Queue<ChangeReport> _changes = new();
    private readonly SliceGrid _grid = timeline is { } span ? new(span.From, span.To) : new(from, to);
    private bool _capped;

    public DateTimeOffset? From => from;

    public DateTimeOffset? To => to;

    public long? FirstSeq { get; private set; }

    public long? LastSeq { get; private set; }

    public long Read { get; private set; }

    public long Included { get; private set; }

    public void Add(LoggedEntry entry)
    {
        Saw(entry.Seq, entry.Seq, 1);
        if ((from is { } f && entry.Timestamp < f) || (to is { } t && entry.Timestamp >= t))
        {
            return;
        }

        Included++;
        switch (entry.Body)
        {
            case RequestBody request:
                AddRequest(entry, request);
                break;
            case ConfigBody config:
                AddChange(entry, config);
                break;
            case SecurityBody { Action: SecurityAction.Blocked } block:
                Slot(_clients, block.Subject, limits.MaxKeys, static () => new ClientStats()).Blocks++;
                break;
        }
    }

    /// <summary>Counts entries as read (not included): a rollup's minute outside the range.</summary>
    public void Saw(long first, long last, long entries)
    {
        FirstSeq = FirstSeq is { } f ? Math.Min(f, first) : first;
        LastSeq = LastSeq is { } l ? Math.Max(l, last) : last;
        Read += entries;
    }

    /// <summary>
    /// Adds a minute of a rollup, which the caller found inside [from, to): its routes (timeline included),
    /// statuses, blocks, top clients and changes. Identities are not in rollups.
    /// </summary>
    public void Merge(MinuteRollup minute)
    {
        Saw(minute.FirstSeq, minute.LastSeq, minute.Entries);
        Included += minute.Entries;
        foreach (var rollup in minute.Routes)
        {
            var route = Slot(_routes, rollup.Route, limits.MaxKeys, static () => new RouteAccumulator());
            route.Merge(rollup, limits.MaxKeysPerRoute);
            route.Timeline.Merge(_grid, minute.Start, rollup.Total);
        }

        foreach (var status in minute.Statuses)
        {
            if (!_statuses.TryGetValue(status.Status, out var counts))
            {
                _statuses[status.Status] = counts = new long[2];
            }

            counts[0] += status.Requests;
            counts[1] += status.Denied;
        }

        foreach (var block in minute.Blocks)
        {
            Slot(_clients, block.Name, limits.MaxKeys, static () => new ClientStats()).Blocks += block.Count;
        }

        foreach (var top in minute.Clients)
        {
            var client = Slot(_clients, top.Client, limits.MaxKeys, static () => new ClientStats());
            client.Requests += top.Requests;
            client.Denied += top.Denied;
        }

        foreach (var change in minute.Changes)
        {
            AddChange(change);
        }
    }

    private void AddRequest(LoggedEntry entry, RequestBody request)
    {
        var time = entry.Timestamp;
        var denied = request.Decision.Decision == Decision.Deny;
        var route = Slot(_routes, request.Route?.Id ?? NoRoute, limits.MaxKeys, static () => new RouteAccumulator());
        route.Add(RequestFacts.Of(entry, request, request.Route?.Id), IdentityOf(request), limits.MaxKeysPerRoute);
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

    private void AddChange(LoggedEntry entry, ConfigBody config) => AddChange(ChangeOf(entry.Seq, entry.Timestamp, config));

    private void AddChange(ChangeReport change)
    {
        _changes.Enqueue(change);
        while (_changes.Count > limits.MaxChanges)
        {
            _changes.Dequeue();
            _capped = true;
        }
    }

    /// <summary>A config entry as the change timeline shows it.</summary>
    public static ChangeReport ChangeOf(long seq, DateTimeOffset time, ConfigBody config)
    {
        var o = config.Object;
        var effect = string.Join(" ", config.Effect.Added.Select(r => "+" + r).Concat(config.Effect.Removed.Select(r => "-" + r)).Concat(config.Effect.Changed.Select(r => "~" + r)));
        return new ChangeReport(
            seq,
            time,
            config.Actor.Username ?? "(unknown)",
            ToText(config.Actor.Via),
            ToText(config.Source),
            o.Namespace is null ? $"{o.Kind} {o.Name}" : $"{o.Kind} {o.Namespace}/{o.Name}",
            config.Operation,
            effect,
            config.Diff.GetRawText(),
            config.Errors);
    }

    private static string ToText(ActorSource value) => JsonSerializer.Serialize(value, ReportJsonContext.Default.ActorSource).Trim('"');

    private static string ToText(ChangeSource value) => JsonSerializer.Serialize(value, ReportJsonContext.Default.ChangeSource).Trim('"');

    public static string IdentityOf(RequestBody request) =>
        request.Identity is { Authenticated: true, Subject: { } subject } ? subject : Anonymous;

    /// <summary>The identity a report names for a request: its authenticated subject, or <see cref="Anonymous"/>.</summary>
    public static string IdentityOf(in RequestFacts request) => request.Subject ?? Anonymous;

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
        Changes = [.. _changes.OrderBy(c => c.Seq)],
    };

    public static string ClassOf(int status) => status is >= 100 and < 600 ? (status / 100).ToString(CultureInfo.InvariantCulture) + "xx" : "other";

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
