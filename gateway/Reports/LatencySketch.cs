namespace AuditGateway.Reports;

/// <summary>
/// A mergeable quantile sketch of non-negative integers (latencies in microseconds), after DDSketch:
/// values below <see cref="ExactBelow"/> are counted exactly, larger ones in logarithmic buckets
/// <c>(γ^(i−1), γ^i]</c> with <c>γ = (1 + α) / (1 − α)</c>, each represented by <c>2γ^i / (γ + 1)</c>,
/// which is within α of every value in the bucket. The quantile <c>q</c> is the value at rank
/// <c>⌊q·(n − 1)⌋</c> of the sorted values (0-based); the estimate, rounded to the microsecond, is
/// within 1 % of it. Memory grows with the logarithm of the value range, not with the count.
/// </summary>
internal sealed class LatencySketch
{
    /// <summary>Values below this are kept exactly (rounding a bucket's value to an integer above it costs under 0.05 %).</summary>
    public const long ExactBelow = 1024;

    /// <summary>The buckets' relative accuracy: 0.95 %, so that with the rounding the estimate stays within 1 %.</summary>
    public const double RelativeAccuracy = 0.0095;

    private const int LogKeyOffset = 1 << 20;

    private static readonly double Gamma = (1 + RelativeAccuracy) / (1 - RelativeAccuracy);
    private static readonly double LogGamma = Math.Log(Gamma);

    private readonly Dictionary<int, long> _counts = [];

    public long Count { get; private set; }

    public long Min { get; private set; } = long.MaxValue;

    public long Max { get; private set; }

    public void Add(long value)
    {
        value = Math.Max(0, value);
        var key = KeyOf(value);
        _counts[key] = _counts.GetValueOrDefault(key) + 1;
        Count++;
        Min = Math.Min(Min, value);
        Max = Math.Max(Max, value);
    }

    /// <summary>Adds every value of <paramref name="other"/> (the sketches of two time slices become one).</summary>
    public void Merge(LatencySketch other)
    {
        foreach (var (key, count) in other._counts)
        {
            _counts[key] = _counts.GetValueOrDefault(key) + count;
        }

        Count += other.Count;
        Min = Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
    }

    /// <summary>The estimated value at quantile <paramref name="q"/> (0..1); 0 for an empty sketch.</summary>
    public long Quantile(double q)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = (long)Math.Floor(Math.Clamp(q, 0, 1) * (Count - 1));
        long seen = 0;
        foreach (var key in _counts.Keys.Order())
        {
            seen += _counts[key];
            if (seen > rank)
            {
                return Math.Clamp(ValueOf(key), Min, Max);
            }
        }

        return Max;
    }

    private static int KeyOf(long value) =>
        value < ExactBelow ? (int)value : LogKeyOffset + (int)Math.Ceiling(Math.Log(value) / LogGamma);

    private static long ValueOf(int key) =>
        key < LogKeyOffset ? key : (long)Math.Round(2 * Math.Pow(Gamma, key - LogKeyOffset) / (Gamma + 1));
}
