using System.Collections.Immutable;
using AuditGateway.Routing;

namespace AuditGateway.Proxy;

/// <summary>
/// Passive health of the endpoints, keyed by destination prefix (<c>http://10.0.0.7:8080</c>), as
/// ingress-nginx's <c>max_fails=1 fail_timeout</c>: an endpoint that refused a connection or reset it
/// before answering is skipped for <see cref="InitialBackoff"/>; failing again once that has passed
/// doubles the period, up to <see cref="MaxBackoff"/>; one success clears it. Failures reported while
/// the endpoint is already skipped (requests that were in flight) do not lengthen it.
/// <para>
/// Bounded: only destinations of the route table in force are kept, and whenever a new table is in
/// force, destinations it no longer holds are dropped. Readers never lock: the state is an immutable
/// snapshot, swapped under a lock by the rare writers (a failure, a recovery).
/// </para>
/// </summary>
internal sealed class DestinationHealth(RoutingState routing, TimeProvider time)
{
    public static readonly TimeSpan InitialBackoff = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(2);

    private readonly Lock _write = new();
    private volatile Snapshot _snapshot = new(RouteTable.Empty, null, ImmutableDictionary<string, Unhealthy>.Empty);

    /// <summary>How many destinations are remembered as failing (skipped or on probation).</summary>
    public int Count => Current().Entries.Count;

    /// <summary>
    /// The index of the first destination from <paramref name="start"/> on (wrapping) that is not being
    /// skipped, other than <paramref name="exclude"/>. When all are skipped: <paramref name="start"/> if
    /// nothing is excluded (a request is tried rather than refused untried), otherwise -1.
    /// </summary>
    public int Choose(IReadOnlyList<string> destinations, int start, int exclude = -1)
    {
        var entries = Current().Entries;
        if (entries.IsEmpty && exclude < 0)
        {
            return start;
        }

        var count = destinations.Count;
        var now = time.GetUtcNow();
        for (var i = 0; i < count; i++)
        {
            var index = (start + i) % count;
            if (index != exclude && !(entries.TryGetValue(destinations[index], out var entry) && now < entry.Until))
            {
                return index;
            }
        }

        return exclude < 0 ? start : -1;
    }

    /// <summary>Whether <paramref name="destination"/> is being skipped now.</summary>
    public bool IsSkipped(string destination) =>
        Current().Entries.TryGetValue(destination, out var entry) && time.GetUtcNow() < entry.Until;

    /// <summary>The destination refused or reset a connection before answering.</summary>
    public void Failed(string destination)
    {
        lock (_write)
        {
            var snapshot = Current();
            if (snapshot.Known is not { } known)
            {
                known = KnownDestinations(snapshot.Table);
                snapshot = _snapshot = snapshot with { Known = known };
            }

            if (!known.Contains(destination))
            {
                // Not (or no longer) in the table in force: nothing to route around, nothing to keep.
                return;
            }

            var now = time.GetUtcNow();
            var failures = 1;
            if (snapshot.Entries.TryGetValue(destination, out var entry))
            {
                if (now < entry.Until)
                {
                    return;
                }

                failures = entry.Failures + 1;
            }

            var backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, InitialBackoff.Ticks << Math.Min(failures - 1, 16)));
            _snapshot = snapshot with { Entries = snapshot.Entries.SetItem(destination, new Unhealthy(failures, now + backoff)) };
        }
    }

    /// <summary>The destination answered: it is healthy again.</summary>
    public void Succeeded(string destination)
    {
        if (_snapshot.Entries.IsEmpty || !_snapshot.Entries.ContainsKey(destination))
        {
            return;
        }

        lock (_write)
        {
            var snapshot = Current();
            _snapshot = snapshot with { Entries = snapshot.Entries.Remove(destination) };
        }
    }

    /// <summary>The state for the table in force, pruned first if a new table came in since.</summary>
    private Snapshot Current()
    {
        var snapshot = _snapshot;
        var table = routing.Current;
        if (ReferenceEquals(snapshot.Table, table))
        {
            return snapshot;
        }

        lock (_write)
        {
            snapshot = _snapshot;
            if (ReferenceEquals(snapshot.Table, table))
            {
                return snapshot;
            }

            if (snapshot.Entries.IsEmpty)
            {
                // Nothing to prune: what the table holds is only worked out once something fails.
                return _snapshot = new Snapshot(table, null, snapshot.Entries);
            }

            var known = KnownDestinations(table);
            var entries = snapshot.Entries;
            foreach (var destination in entries.Keys)
            {
                if (!known.Contains(destination))
                {
                    entries = entries.Remove(destination);
                }
            }

            return _snapshot = new Snapshot(table, known, entries);
        }
    }

    private static HashSet<string> KnownDestinations(RouteTable table)
    {
        var routes = table.DefaultBackend is { } fallback ? table.Routes.Append(fallback) : table.Routes;
        return routes.SelectMany(r => r.Backend.DestinationPrefixes).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Failures in a row, and until when the destination is skipped.</summary>
    private readonly record struct Unhealthy(int Failures, DateTimeOffset Until);

    /// <summary>The table the state was pruned for, the destinations it holds (worked out on the first failure), the failing ones.</summary>
    private sealed record Snapshot(RouteTable Table, HashSet<string>? Known, ImmutableDictionary<string, Unhealthy> Entries);
}
