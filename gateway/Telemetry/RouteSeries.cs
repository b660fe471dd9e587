using System.Text;
using AuditGateway.Policy;

namespace AuditGateway.Telemetry;

/// <summary>
/// The request series of one route label: a counter per status class and decision, and the total
/// and upstream duration histograms. Each label set is admitted against the metric's budget the first
/// time it is recorded; past the budget it is folded into the <c>_other</c> series. Recording never allocates.
/// </summary>
internal sealed class RouteSeries
{
    public const int Decisions = 3;
    public const int CodeClasses = 5;
    public const int Cells = CodeClasses * Decisions;

    private const int Unseen = 0;
    private const int Own = 1;
    private const int Folded = 2;

    private static readonly string[] s_codeClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"];
    private static readonly string[] s_decisions = ["allow", "deny", "would-deny"];

    private readonly long[] _counts = new long[Cells];
    private readonly int[] _cellState = new int[Cells];
    private readonly RouteSeries? _other;
    private readonly SeriesBudgets? _budgets;
    private int _durationState;
    private int _upstreamState;
    private volatile bool _retired;

    /// <param name="other">Where label sets past the budget go; null: this series is never capped (<c>_other</c>, <c>_none</c>).</param>
    public RouteSeries(string route, RouteSeries? other, SeriesBudgets? budgets)
    {
        Route = route;
        _other = other;
        _budgets = budgets;
        RouteLabel = Encoding.UTF8.GetBytes($"route=\"{PrometheusText.EscapeLabel(route)}\"");
        Duration = new HistogramCell(HistogramCell.HttpDurationBuckets);
        Upstream = new HistogramCell(HistogramCell.HttpDurationBuckets);
        if (other is null)
        {
            Array.Fill(_cellState, Own);
            _durationState = Own;
            _upstreamState = Own;
        }
    }

    public string Route { get; }

    /// <summary><c>route="…"</c>, escaped, in UTF-8: written before every sample of this series.</summary>
    public byte[] RouteLabel { get; }

    public HistogramCell Duration { get; }

    public HistogramCell Upstream { get; }

    public static int Cell(int status, DecisionOutcome outcome) => (Math.Clamp(status / 100, 1, 5) - 1) * Decisions + (int)outcome;

    public static string CodeClassOf(int cell) => s_codeClasses[cell / Decisions];

    public static string DecisionOf(int cell) => s_decisions[cell % Decisions];

    public void Count(int cell)
    {
        var target = Volatile.Read(ref _cellState[cell]) switch
        {
            Own => this,
            Folded => _other!,
            _ => Admit(ref _cellState[cell], ref _budgets!.Requests),
        };
        Interlocked.Increment(ref target._counts[cell]);
    }

    /// <summary>The series whose duration histogram this route's requests go to (itself, or <c>_other</c>).</summary>
    public RouteSeries ForDuration() => Volatile.Read(ref _durationState) switch
    {
        Own => this,
        Folded => _other!,
        _ => Admit(ref _durationState, ref _budgets!.Duration),
    };

    public RouteSeries ForUpstream() => Volatile.Read(ref _upstreamState) switch
    {
        Own => this,
        Folded => _other!,
        _ => Admit(ref _upstreamState, ref _budgets!.Upstream),
    };

    /// <summary>Requests counted under the cell so far (0 when the label set was folded or never seen).</summary>
    public long CountOf(int cell) => IsOwn(Volatile.Read(ref _cellState[cell])) ? Volatile.Read(ref _counts[cell]) : 0;

    public bool HasDuration => IsOwn(Volatile.Read(ref _durationState)) && Total(Duration) > 0;

    public bool HasUpstream => IsOwn(Volatile.Read(ref _upstreamState)) && Total(Upstream) > 0;

    /// <summary>The route is gone: its label sets leave the budget (later requests still recorded here are not exported).</summary>
    public void Retire()
    {
        if (_budgets is null || _retired)
        {
            return;
        }

        _retired = true;
        var cells = 0;
        foreach (var state in _cellState)
        {
            cells += state == Own ? 1 : 0;
        }

        Interlocked.Add(ref _budgets.Requests, -cells);
        Interlocked.Add(ref _budgets.Duration, _durationState == Own ? -1 : 0);
        Interlocked.Add(ref _budgets.Upstream, _upstreamState == Own ? -1 : 0);
    }

    private static long Total(HistogramCell cell)
    {
        long total = 0;
        for (var i = 0; i <= cell.Bounds.Length; i++)
        {
            total += cell.CountIn(i);
        }

        return total;
    }

    private static bool IsOwn(int state) => state == Own;

    /// <summary>First use of a label set: own it while the metric's budget lasts, else fold it into <c>_other</c>.</summary>
    private RouteSeries Admit(ref int state, ref int used)
    {
        if (_retired)
        {
            return this;
        }

        var claimed = Interlocked.Increment(ref used) <= _budgets!.Cap;
        var chosen = claimed ? Own : Folded;
        var previous = Interlocked.CompareExchange(ref state, chosen, Unseen);
        if (previous != Unseen)
        {
            Interlocked.Decrement(ref used);
            chosen = previous;
        }
        else if (!claimed)
        {
            Interlocked.Decrement(ref used);
        }

        return chosen == Own ? this : _other!;
    }
}

/// <summary>Label sets in use per request metric, against <c>telemetry.maxSeriesPerMetric</c>.</summary>
internal sealed class SeriesBudgets(int cap)
{
    public int Cap { get; } = cap;

#pragma warning disable CA1051 // fields: they are updated with Interlocked by reference
    public int Requests;
    public int Duration;
    public int Upstream;
#pragma warning restore CA1051
}
