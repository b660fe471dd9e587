namespace AuditGateway.Telemetry;

/// <summary>
/// One histogram series: a count per bucket (not cumulative; the writer adds them up) and the sum.
/// Recording is two interlocked operations and no allocation.
/// </summary>
internal sealed class HistogramCell(double[] bounds)
{
    /// <summary>The HTTP semantic conventions' duration buckets, in seconds (5 ms … 10 s).</summary>
    public static readonly double[] HttpDurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    /// <summary>Slot i counts values in (bounds[i-1], bounds[i]]; the last slot counts those above every bound.</summary>
    private readonly long[] _counts = new long[bounds.Length + 1];
    private long _sumBits;

    public double[] Bounds { get; } = bounds;

    public void Record(double value)
    {
        var bucket = 0;
        while (bucket < Bounds.Length && value > Bounds[bucket])
        {
            bucket++;
        }

        Interlocked.Increment(ref _counts[bucket]);
        var seen = Volatile.Read(ref _sumBits);
        while (true)
        {
            var next = BitConverter.DoubleToInt64Bits(BitConverter.Int64BitsToDouble(seen) + value);
            var found = Interlocked.CompareExchange(ref _sumBits, next, seen);
            if (found == seen)
            {
                return;
            }

            seen = found;
        }
    }

    public double Sum => BitConverter.Int64BitsToDouble(Volatile.Read(ref _sumBits));

    /// <summary>Values recorded in slot <paramref name="bucket"/> alone (see <see cref="_counts"/>).</summary>
    public long CountIn(int bucket) => Volatile.Read(ref _counts[bucket]);
}
