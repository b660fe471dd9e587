using System.Globalization;

namespace AuditGateway.LoadTest;

/// <summary>
/// Order statistics of a sample, nearest-rank percentiles (no interpolation): with n samples,
/// pXX is the ceil(XX/100 * n)-th smallest, so with 50 samples p99 is the maximum.
/// </summary>
internal sealed record Summary(int Count, double Min, double P50, double P90, double P99, double Max)
{
    public static Summary Of(IReadOnlyCollection<double> samples)
    {
        if (samples.Count == 0)
        {
            return new Summary(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        var sorted = samples.Order().ToArray();
        double Rank(double p) => sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1)];
        return new Summary(sorted.Length, sorted[0], Rank(0.50), Rank(0.90), Rank(0.99), sorted[^1]);
    }

    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"n={Count} min={Min:F1} p50={P50:F1} p90={P90:F1} p99={P99:F1} max={Max:F1} ms");
}
