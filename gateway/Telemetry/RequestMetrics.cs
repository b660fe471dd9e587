using System.Diagnostics.Metrics;
using System.Text;
using AuditGateway.Policy;
using AuditGateway.Routing;

namespace AuditGateway.Telemetry;

/// <summary>
/// <c>auditgw_requests_total</c>, <c>auditgw_request_duration_seconds</c> and
/// <c>auditgw_upstream_duration_seconds</c>, one series set per route of the table in force. The
/// set follows the table: a route that leaves it leaves the next scrape, a new route gets series
/// while <c>telemetry.maxSeriesPerMetric</c> allows and <c>route="_other"</c> after. Requests that
/// matched no route count under <c>route="_none"</c>. Recording takes no lock and allocates nothing.
/// Over OTLP the same counts are observed and the durations recorded (only while a listener is on).
/// </summary>
internal sealed class RequestMetrics : IDisposable
{
    /// <summary>The meter of the request instruments over OTLP (the Prometheus text reads the series directly).</summary>
    public const string MeterName = "AuditGateway.Requests";

    public const string NoRoute = "_none";
    public const string OtherRoutes = "_other";

    private static readonly byte[][] s_cellLabels = [.. Enumerable.Range(0, RouteSeries.Cells).Select(cell =>
        Encoding.ASCII.GetBytes($"code_class=\"{RouteSeries.CodeClassOf(cell)}\",decision=\"{RouteSeries.DecisionOf(cell)}\""))];

    private static readonly byte[][] s_leLabels = PrometheusText.LeLabels(HistogramCell.HttpDurationBuckets);
    private static readonly byte[] s_requests = PrometheusText.Name("auditgw_requests_total");
    private static readonly byte[] s_denials = PrometheusText.Name("auditgw_policy_denials_total");
    private static readonly HistogramNames s_duration = new("auditgw_request_duration_seconds");
    private static readonly HistogramNames s_upstream = new("auditgw_upstream_duration_seconds");

    /// <summary>Slot kind * 2 + (0: deny, 1: would-deny).</summary>
    private static readonly byte[][] s_denialLabels = [.. DenialRules.Kinds.SelectMany(kind => new[] { "deny", "would-deny" }.Select(decision =>
        System.Text.Encoding.ASCII.GetBytes($"rule=\"{kind}\",decision=\"{decision}\"")))];

    private readonly long[] _denials = new long[DenialRules.Kinds.Length * 2];

    private readonly RoutingState _state;
    private readonly SeriesBudgets _budgets;
    private readonly RouteSeries _other;
    private readonly RouteSeries _none;
    private readonly RouteSeries _detached;
    private readonly Lock _refresh = new();
    private readonly Meter _meter;
    private readonly Histogram<double> _otlpDuration;
    private readonly Histogram<double> _otlpUpstream;
    private volatile SeriesSet _set;

    public RequestMetrics(RoutingState state, TelemetryOptions options, IMeterFactory meterFactory)
    {
        _state = state;
        _budgets = new SeriesBudgets(options.MaxSeriesPerMetric);
        _other = new RouteSeries(OtherRoutes, null, null);
        _none = new RouteSeries(NoRoute, null, null);
        _detached = new RouteSeries("_detached", null, null);
        _set = new SeriesSet(null, new Dictionary<string, RouteSeries>(StringComparer.Ordinal), new Dictionary<IngressRoute, RouteSeries>(ReferenceEqualityComparer.Instance));
        _meter = meterFactory.Create(MeterName);
        var advice = new InstrumentAdvice<double> { HistogramBucketBoundaries = HistogramCell.HttpDurationBuckets };
        _meter.CreateObservableCounter("auditgw_requests_total", ObserveRequests, description: Help.Requests);
        _otlpDuration = _meter.CreateHistogram("auditgw_request_duration_seconds", "s", Help.Duration, tags: null, advice);
        _otlpUpstream = _meter.CreateHistogram("auditgw_upstream_duration_seconds", "s", Help.Upstream, tags: null, advice);
        _meter.CreateObservableCounter("auditgw_policy_denials_total", ObserveDenials, description: Help.Denials);
    }

    /// <summary>Records one finished request: its route (null: none matched), status, decision and latencies.</summary>
    public void Record(IngressRoute? route, int status, DecisionOutcome outcome, string? rule, long latencyMicroseconds, long? upstreamMicroseconds)
    {
        if (outcome != DecisionOutcome.Allow)
        {
            Interlocked.Increment(ref _denials[DenialRules.KindOf(rule) * 2 + (outcome == DecisionOutcome.Deny ? 0 : 1)]);
        }

        var series = route is null ? _none : Find(route);
        series.Count(RouteSeries.Cell(status, outcome));
        var seconds = latencyMicroseconds / 1e6;
        var duration = series.ForDuration();
        duration.Duration.Record(seconds);
        if (_otlpDuration.Enabled)
        {
            _otlpDuration.Record(seconds, new KeyValuePair<string, object?>("route", duration.Route));
        }

        if (upstreamMicroseconds is { } upstream)
        {
            var upstreamSeconds = upstream / 1e6;
            var target = series.ForUpstream();
            target.Upstream.Record(upstreamSeconds);
            if (_otlpUpstream.Enabled)
            {
                _otlpUpstream.Record(upstreamSeconds, new KeyValuePair<string, object?>("route", target.Route));
            }
        }
    }

    /// <summary>Writes the three request families, for the routes of the table in force.</summary>
    public void Write(PrometheusText text)
    {
        var set = Current();
        RouteSeries[] all = [.. set.Ordered, _none, _other];
        text.Family("auditgw_requests_total", "counter", Help.Requests);
        foreach (var series in all)
        {
            for (var cell = 0; cell < RouteSeries.Cells; cell++)
            {
                if (series.CountOf(cell) is > 0 and var count)
                {
                    text.Sample(s_requests, series.RouteLabel, s_cellLabels[cell], count);
                }
            }
        }

        text.Family("auditgw_request_duration_seconds", "histogram", Help.Duration);
        foreach (var series in all)
        {
            if (series.HasDuration)
            {
                text.Histogram(s_duration, series.RouteLabel, series.Duration, s_leLabels);
            }
        }

        text.Family("auditgw_upstream_duration_seconds", "histogram", Help.Upstream);
        foreach (var series in all)
        {
            if (series.HasUpstream)
            {
                text.Histogram(s_upstream, series.RouteLabel, series.Upstream, s_leLabels);
            }
        }
    }

    /// <summary><c>auditgw_policy_denials_total{rule,decision}</c>: at most 18 series, whatever the routes.</summary>
    public void WriteDenials(PrometheusText text)
    {
        text.Family("auditgw_policy_denials_total", "counter", Help.Denials);
        for (var slot = 0; slot < _denials.Length; slot++)
        {
            if (Volatile.Read(ref _denials[slot]) is > 0 and var count)
            {
                text.Sample(s_denials, s_denialLabels[slot], default, count);
            }
        }
    }

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<long>> ObserveRequests()
    {
        var set = Current();
        foreach (var series in set.Ordered.Append(_none).Append(_other))
        {
            for (var cell = 0; cell < RouteSeries.Cells; cell++)
            {
                if (series.CountOf(cell) is > 0 and var count)
                {
                    yield return new Measurement<long>(
                        count,
                        new KeyValuePair<string, object?>("route", series.Route),
                        new KeyValuePair<string, object?>("code_class", RouteSeries.CodeClassOf(cell)),
                        new KeyValuePair<string, object?>("decision", RouteSeries.DecisionOf(cell)));
                }
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveDenials()
    {
        for (var slot = 0; slot < _denials.Length; slot++)
        {
            if (Volatile.Read(ref _denials[slot]) is > 0 and var count)
            {
                yield return new Measurement<long>(
                    count,
                    new KeyValuePair<string, object?>("rule", DenialRules.Kinds[slot / 2]),
                    new KeyValuePair<string, object?>("decision", slot % 2 == 0 ? "deny" : "would-deny"));
            }
        }
    }

    private RouteSeries Find(IngressRoute route)
    {
        var set = Current();
        if (set.ByRoute.TryGetValue(route, out var series))
        {
            return series;
        }

        // A request that began on an older table: its route by id, unless the route is gone.
        return set.ById.TryGetValue(route.Id, out series) ? series : _detached;
    }

    /// <summary>The series of the table in force, rebuilt when the table changed (carrying over the routes that stay).</summary>
    private SeriesSet Current()
    {
        var set = _set;
        var table = _state.Current;
        if (ReferenceEquals(set.Table, table))
        {
            return set;
        }

        lock (_refresh)
        {
            set = _set;
            table = _state.Current;
            if (ReferenceEquals(set.Table, table))
            {
                return set;
            }

            var byId = new Dictionary<string, RouteSeries>(StringComparer.Ordinal);
            var byRoute = new Dictionary<IngressRoute, RouteSeries>(ReferenceEqualityComparer.Instance);
            IEnumerable<IngressRoute> routes = table.DefaultBackend is { } fallback ? table.Routes.Append(fallback) : table.Routes;
            foreach (var route in routes)
            {
                if (!byId.TryGetValue(route.Id, out var series))
                {
                    series = set.ById.GetValueOrDefault(route.Id) ?? new RouteSeries(route.Id, _other, _budgets);
                    byId.Add(route.Id, series);
                }

                byRoute[route] = series;
            }

            foreach (var (id, series) in set.ById)
            {
                if (!byId.ContainsKey(id))
                {
                    series.Retire();
                }
            }

            _set = set = new SeriesSet(table, byId, byRoute);
            return set;
        }
    }

    private sealed record SeriesSet(
        RouteTable? Table,
        Dictionary<string, RouteSeries> ById,
        Dictionary<IngressRoute, RouteSeries> ByRoute)
    {
        private RouteSeries[]? _ordered;

        /// <summary>By route id, for the exposition: sorted at the first scrape of a table, not by the first request after a swap.</summary>
        public RouteSeries[] Ordered => _ordered ??= [.. ById.Values.OrderBy(s => s.Route, StringComparer.Ordinal)];
    }

    private static class Help
    {
        public const string Requests = "Requests by route id (_none: no route matched; _other: past telemetry.maxSeriesPerMetric), status class and policy decision.";
        public const string Duration = "Time from the request's arrival to its last response byte, per route.";
        public const string Denials = "Requests denied (or, report-only, that would have been) by the kind of check: the rule id without its route, range or claim.";
        public const string Upstream = "Time spent forwarding to the backend (every attempt), per route.";
    }
}
