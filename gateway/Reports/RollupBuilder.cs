using System.Runtime.InteropServices;
using AuditGateway.Audit.Entries;

namespace AuditGateway.Reports;

/// <summary>
/// Builds the rollup of one block from its entries, in seq order. The same code builds a rollup as the
/// writer hands entries over, rebuilds a missing one from the log, and recomputes one for
/// <c>auditgw verify</c> to compare: a rollup is a function of its entries.
/// </summary>
internal sealed class RollupBuilder(string node, long first)
{
    /// <summary>Identities and clients kept per route and minute.</summary>
    public const int Top = 10;

    /// <summary>Clients kept per minute (over all routes).</summary>
    public const int TopClients = 100;

    /// <summary>Identities, clients and rules tallied per route and minute before the rest count as (other).</summary>
    private const int Cap = 10_000;

    private readonly SortedDictionary<long, Minute> _minutes = [];

    public long FirstSeq { get; } = first;

    /// <summary>The seq the next entry must have.</summary>
    public long NextSeq { get; private set; } = first;

    /// <summary>An entry of any kind, typed (the writer's, or one read back from the log).</summary>
    public void Add(long seq, DateTimeOffset timestamp, AuditBody body)
    {
        if (body is RequestBody request)
        {
            Add(RequestFacts.Of(seq, timestamp, request, request.Route?.Id));
        }
        else
        {
            MinuteOf(seq, timestamp).Add(seq, timestamp, body);
        }
    }

    /// <summary>A request entry by its figures (what <c>verify</c> hands over without building the entry).</summary>
    public void Add(in RequestFacts request) => MinuteOf(request.Seq, request.Timestamp).Add(request);

    private Minute MinuteOf(long seq, DateTimeOffset timestamp)
    {
        if (seq != NextSeq)
        {
            throw new InvalidOperationException($"rollup of block {FirstSeq}: seq {seq} where {NextSeq} was expected");
        }

        NextSeq++;
        var key = RollupStore.MinuteOf(timestamp);
        if (!_minutes.TryGetValue(key, out var minute))
        {
            _minutes[key] = minute = new Minute(seq);
        }

        return minute;
    }

    public RollupFile Build() => new()
    {
        Version = RollupFile.CurrentVersion,
        Node = node,
        FirstSeq = FirstSeq,
        EndSeq = NextSeq,
        Minutes = [.. _minutes.Select(m => m.Value.Build(m.Key))],
    };

    private sealed class Minute(long firstSeq)
    {
        private readonly Dictionary<string, RouteAccumulator> _routes = new(StringComparer.Ordinal);
        private readonly Dictionary<int, (long Requests, long Denied)> _statuses = [];
        private readonly Tallies _blocks = new();
        private readonly Dictionary<string, (long Requests, long Denied)> _clients = new(StringComparer.Ordinal);
        private readonly List<ChangeReport> _changes = [];
        private long _lastSeq;
        private long _entries;

        public void Add(in RequestFacts request)
        {
            Saw(request.Seq);
            var id = request.RouteId ?? ReportAggregator.NoRoute;
            if (!_routes.TryGetValue(id, out var route))
            {
                _routes[id] = route = new RouteAccumulator();
            }

            route.Add(request, ReportAggregator.IdentityOf(request), Cap);
            var denied = request.Decision == Decision.Deny ? 1 : 0;
            ref var status = ref CollectionsMarshal.GetValueRefOrAddDefault(_statuses, request.Status, out _);
            status.Requests++;
            status.Denied += denied;
            ref var client = ref CollectionsMarshal.GetValueRefOrAddDefault(_clients, request.ClientIp ?? "", out var existed);
            if (!existed && _clients.Count > Cap)
            {
                _clients.Remove(request.ClientIp ?? "");
                client = ref CollectionsMarshal.GetValueRefOrAddDefault(_clients, ReportAggregator.Other, out _);
            }

            client.Requests++;
            client.Denied += denied;
        }

        public void Add(long seq, DateTimeOffset timestamp, AuditBody body)
        {
            Saw(seq);
            switch (body)
            {
                case ConfigBody config:
                    _changes.Add(ReportAggregator.ChangeOf(seq, timestamp, config));
                    break;
                case SecurityBody { Action: SecurityAction.Blocked } block:
                    _blocks.Add(block.Subject, Cap);
                    break;
            }
        }

        private void Saw(long seq)
        {
            _lastSeq = seq;
            _entries++;
        }

        public MinuteRollup Build(long minute) => new()
        {
            Minute = minute,
            FirstSeq = firstSeq,
            LastSeq = _lastSeq,
            Entries = _entries,
            Routes = [.. _routes.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Value.ToRollup(r.Key, Top))],
            Statuses = [.. _statuses.OrderBy(s => s.Key).Select(s => new StatusRollup(s.Key, s.Value.Requests, s.Value.Denied))],
            Blocks = _blocks.Top(int.MaxValue),
            Clients = [.. _clients.OrderByDescending(c => c.Value.Requests).ThenBy(c => c.Key, StringComparer.Ordinal).Take(TopClients).Select(c => new ClientRollup(c.Key, c.Value.Requests, c.Value.Denied))],
            Changes = [.. _changes],
        };
    }
}
