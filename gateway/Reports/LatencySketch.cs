using System.Runtime.InteropServices;

namespace AuditGateway.Reports;

/// <summary>
/// A mergeable quantile sketch of non-negative integers (latencies in microseconds), after DDSketch:
/// values below <see cref="ExactBelow"/> are counted exactly, larger ones in logarithmic buckets
/// <c>(γ^(i−1), γ^i]</c> with <c>γ = (1 + α) / (1 − α)</c>, each represented by <c>2γ^i / (γ + 1)</c>,
/// which is within α of every value in the bucket. The quantile <c>q</c> is the value at rank
/// <c>⌊q·(n − 1)⌋</c> of the sorted values (0-based); the estimate, rounded to the microsecond, is
/// within 1 % of it. Memory grows with the logarithm of the value range, not with the count.
/// </summary>
/// <remarks>
/// A sketch with few distinct keys keeps them in a dictionary; past <see cref="SparseLimit"/> keys
/// it switches to arrays (one slot per exact value, one per logarithmic bucket in use), which are
/// smaller than the dictionary by then and make adding and merging an index operation.
/// </remarks>
internal sealed class LatencySketch
{
    /// <summary>Values below this are kept exactly (rounding a bucket's value to an integer above it costs under 0.05 %).</summary>
    public const long ExactBelow = 1024;

    /// <summary>The buckets' relative accuracy: 0.95 %, so that with the rounding the estimate stays within 1 %.</summary>
    public const double RelativeAccuracy = 0.0095;

    private const int LogKeyOffset = 1 << 20;
    private const int SparseLimit = 64;

    private static readonly double Gamma = (1 + RelativeAccuracy) / (1 - RelativeAccuracy);
    private static readonly double LogGamma = Math.Log(Gamma);

    private Dictionary<int, long>? _sparse = [];
    private long[]? _exact;
    private long[]? _log;
    private int _logFirst;

    public long Count { get; private set; }

    public long Min { get; private set; } = long.MaxValue;

    public long Max { get; private set; }

    public void Add(long value)
    {
        value = Math.Max(0, value);
        AddKey(KeyOf(value), 1);
        Count++;
        Min = Math.Min(Min, value);
        Max = Math.Max(Max, value);
    }

    /// <summary>Adds every value of <paramref name="other"/> (the sketches of two time slices become one).</summary>
    public void Merge(LatencySketch other)
    {
        if (other._sparse is { } sparse)
        {
            foreach (var (key, count) in sparse)
            {
                AddKey(key, count);
            }
        }
        else
        {
            for (var i = 0; other._exact is { } exact && i < exact.Length; i++)
            {
                if (exact[i] != 0)
                {
                    AddKey(i, exact[i]);
                }
            }

            for (var i = 0; other._log is { } log && i < log.Length; i++)
            {
                if (log[i] != 0)
                {
                    AddKey(LogKeyOffset + other._logFirst + i, log[i]);
                }
            }
        }

        Count += other.Count;
        Min = Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
    }

    /// <summary>Adds a stored sketch's values without making a sketch of them first (a report merging thousands of rollups).</summary>
    public void Merge(SketchData other)
    {
        var total = 0L;
        for (var i = 0; i < other.Keys.Length; i++)
        {
            AddKey(other.Keys[i], other.Counts[i]);
            total += other.Counts[i];
        }

        if (total > 0)
        {
            Count += total;
            Min = Math.Min(Min, other.Min);
            Max = Math.Max(Max, other.Max);
        }
    }

    /// <summary>The buckets (key, count) that hold values, by key: what a rollup stores.</summary>
    public IEnumerable<KeyValuePair<int, long>> Buckets
    {
        get
        {
            if (_sparse is { } sparse)
            {
                foreach (var bucket in sparse.OrderBy(c => c.Key))
                {
                    yield return bucket;
                }

                yield break;
            }

            for (var i = 0; _exact is not null && i < _exact.Length; i++)
            {
                if (_exact[i] != 0)
                {
                    yield return new(i, _exact[i]);
                }
            }

            for (var i = 0; _log is not null && i < _log.Length; i++)
            {
                if (_log[i] != 0)
                {
                    yield return new(LogKeyOffset + _logFirst + i, _log[i]);
                }
            }
        }
    }

    /// <summary>The estimated value at quantile <paramref name="q"/> (0..1); 0 for an empty sketch.</summary>
    public long Quantile(double q)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = (long)Math.Floor(Math.Clamp(q, 0, 1) * (Count - 1));
        var key = _sparse is null ? DenseKeyAt(rank) : SparseKeyAt(_sparse, rank);
        return key is { } found ? Math.Clamp(ValueOf(found), Min, Max) : Max;
    }

    private static int? SparseKeyAt(Dictionary<int, long> sparse, long rank)
    {
        long seen = 0;
        foreach (var key in sparse.Keys.Order())
        {
            seen += sparse[key];
            if (seen > rank)
            {
                return key;
            }
        }

        return null;
    }

    private int? DenseKeyAt(long rank)
    {
        long seen = 0;
        for (var i = 0; _exact is { } exact && i < exact.Length; i++)
        {
            seen += exact[i];
            if (seen > rank)
            {
                return i;
            }
        }

        for (var i = 0; _log is { } log && i < log.Length; i++)
        {
            seen += log[i];
            if (seen > rank)
            {
                return LogKeyOffset + _logFirst + i;
            }
        }

        return null;
    }

    private void AddKey(int key, long count)
    {
        if (_sparse is { } sparse)
        {
            CollectionsMarshal.GetValueRefOrAddDefault(sparse, key, out var existed) += count;
            if (!existed && sparse.Count > SparseLimit)
            {
                _sparse = null;
                foreach (var (k, c) in sparse)
                {
                    AddDense(k, c);
                }
            }

            return;
        }

        AddDense(key, count);
    }

    private void AddDense(int key, long count)
    {
        if (key < LogKeyOffset)
        {
            (_exact ??= new long[ExactBelow])[key] += count;
            return;
        }

        var index = key - LogKeyOffset;
        if (_log is null)
        {
            _log = new long[64];
            _logFirst = index;
        }
        else if (index < _logFirst)
        {
            var grown = new long[_log.Length + (_logFirst - index) + 32];
            var first = Math.Max(0, index - 32);
            Array.Copy(_log, 0, grown, _logFirst - first, _log.Length);
            (_log, _logFirst) = (grown, first);
        }
        else if (index - _logFirst >= _log.Length)
        {
            Array.Resize(ref _log, Math.Max(_log.Length * 2, index - _logFirst + 32));
        }

        _log[index - _logFirst] += count;
    }

    private static int KeyOf(long value) =>
        value < ExactBelow ? (int)value : LogKeyOffset + (int)Math.Ceiling(Math.Log(value) / LogGamma);

    private static long ValueOf(int key) =>
        key < LogKeyOffset ? key : (long)Math.Round(2 * Math.Pow(Gamma, key - LogKeyOffset) / (Gamma + 1));
}
