using System.Runtime.InteropServices;
using AuditGateway.Audit.Entries;

namespace AuditGateway.Reports;

/// <summary>Counts by name, up to a cap of names (later names count under <see cref="ReportAggregator.Other"/>).</summary>
internal sealed class Tallies
{
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);

    public void Add(string name, int cap, long count = 1)
    {
        // One lookup for a name already counted (nearly always); a new one past the cap counts as (other).
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_counts, name, out var existed);
        if (!existed && _counts.Count > cap)
        {
            _counts.Remove(name);
            slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_counts, ReportAggregator.Other, out _);
        }

        slot += count;
    }

    public void Merge(IReadOnlyList<Tally> tallies, int cap)
    {
        foreach (var tally in tallies)
        {
            Add(tally.Name, cap, tally.Count);
        }
    }

    /// <summary>The <paramref name="n"/> most frequent, most frequent first, ties by name.</summary>
    public IReadOnlyList<Tally> Top(int n) =>
        [.. _counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Take(n).Select(c => new Tally(c.Key, c.Value))];
}

/// <summary>
/// One route's numbers: requests, status classes, denials by rule, latency sketches, bytes and top
/// lists. Fed entry by entry (a report read from the log, a rollup being built) or by merging
/// rollups (a report over a long range).
/// </summary>
internal sealed class RouteAccumulator
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

    /// <summary>One request; <paramref name="identity"/> is its subject or <see cref="ReportAggregator.Anonymous"/>.</summary>
    public void Add(in RequestFacts request, string identity, int cap)
    {
        _requests++;
        if (request.Status is >= 100 and < 600)
        {
            _classes[(request.Status / 100) - 1]++;
        }

        if (request.Decision == Decision.Deny)
        {
            _denied++;
            _rules.Add(request.Rule ?? "(none)", cap);
        }

        _wouldDeny += request.Decision == Decision.WouldDeny ? 1 : 0;
        _total.Add(request.LatencyUs);
        if (request.UpstreamLatencyUs is { } upstream)
        {
            _upstream.Add(upstream);
            _overhead.Add(request.LatencyUs - upstream);
        }

        _bytesIn += request.BytesIn;
        _bytesOut += request.BytesOut;
        _identities.Add(identity, cap);
        _clients.Add(request.ClientIp ?? "", cap);
    }

    /// <summary>Adds a minute's rollup of this route (its top lists are merged as they were kept).</summary>
    public void Merge(RouteRollup rollup, int cap)
    {
        _requests += rollup.Requests;
        for (var i = 0; i < _classes.Length; i++)
        {
            _classes[i] += rollup.Classes[i];
        }

        _denied += rollup.Denied;
        _wouldDeny += rollup.WouldDeny;
        _rules.Merge(rollup.Rules, cap);
        _total.Merge(rollup.Total);
        _upstream.Merge(rollup.Upstream);
        _overhead.Merge(rollup.Overhead);
        _bytesIn += rollup.BytesIn;
        _bytesOut += rollup.BytesOut;
        _identities.Merge(rollup.TopIdentities, cap);
        _clients.Merge(rollup.TopClients, cap);
    }

    /// <summary>What a rollup keeps of this route: everything, with the top <paramref name="top"/> identities and clients.</summary>
    public RouteRollup ToRollup(string route, int top) => new(
        route,
        _requests,
        [.. _classes],
        _denied,
        _wouldDeny,
        _rules.Top(int.MaxValue),
        _bytesIn,
        _bytesOut,
        SketchData.Of(_total),
        SketchData.Of(_upstream),
        SketchData.Of(_overhead),
        _identities.Top(top),
        _clients.Top(top));

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
