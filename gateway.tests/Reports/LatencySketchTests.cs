using AuditGateway.Reports;

namespace AuditGateway.Tests.Reports;

public sealed class LatencySketchTests
{
    private static readonly double[] Quantiles = [0, 0.5, 0.9, 0.95, 0.99, 1];

    /// <summary>The value at rank ⌊q·(n − 1)⌋ of the sorted values: the definition the sketch estimates.</summary>
    internal static long Exact(IReadOnlyList<long> sorted, double q) => sorted[(int)Math.Floor(q * (sorted.Count - 1))];

    public static TheoryData<string, int> Distributions => new()
    {
        { "log-uniform 1 µs .. 10 s", 1 },
        { "log-normal around 2 ms", 2 },
        { "small exact values", 3 },
        { "two modes", 4 },
    };

    private static long Draw(Random random, int distribution) => distribution switch
    {
        1 => (long)Math.Exp(random.NextDouble() * Math.Log(10_000_000)),
        2 => (long)Math.Exp(Math.Log(2000) + (0.8 * Normal(random))),
        3 => random.Next(0, 1024),
        _ => random.Next(2) == 0 ? random.Next(300, 900) : random.Next(150_000, 400_000),
    };

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Percentiles_are_within_one_percent_of_the_exact_ones(string name, int distribution)
    {
        for (var seed = 0; seed < 20; seed++)
        {
            var random = new Random((distribution * 1000) + seed);
            var count = random.Next(1, 20_000);
            var values = Enumerable.Range(0, count).Select(_ => Draw(random, distribution)).ToList();
            var sketch = new LatencySketch();
            values.ForEach(sketch.Add);
            values.Sort();
            Assert.Equal(count, sketch.Count);
            Assert.Equal(values[^1], sketch.Max);
            foreach (var q in Quantiles)
            {
                var exact = Exact(values, q);
                var estimate = sketch.Quantile(q);
                Assert.True(Math.Abs(estimate - exact) <= 0.01 * exact, $"{name}, seed {seed}, n={count}, q={q}: estimate {estimate}, exact {exact}");
            }
        }
    }

    [Fact]
    public void Values_below_1024_are_exact()
    {
        var sketch = new LatencySketch();
        foreach (var v in new long[] { 5, 7, 7, 1023, 0, 12 })
        {
            sketch.Add(v);
        }

        Assert.Equal(0, sketch.Quantile(0));
        Assert.Equal(7, sketch.Quantile(0.5));
        Assert.Equal(1023, sketch.Quantile(1));
    }

    [Fact]
    public void Merged_sketches_answer_as_one_sketch_of_all_values()
    {
        var random = new Random(7);
        var all = new LatencySketch();
        var parts = Enumerable.Range(0, 5).Select(_ => new LatencySketch()).ToList();
        for (var i = 0; i < 10_000; i++)
        {
            var v = Draw(random, 1);
            all.Add(v);
            parts[random.Next(parts.Count)].Add(v);
        }

        var merged = new LatencySketch();
        parts.ForEach(merged.Merge);
        Assert.Equal(all.Count, merged.Count);
        Assert.Equal(all.Max, merged.Max);
        Assert.All(Quantiles, q => Assert.Equal(all.Quantile(q), merged.Quantile(q)));
    }

    [Fact]
    public void An_empty_sketch_answers_zero()
    {
        var sketch = new LatencySketch();
        Assert.Equal(0, sketch.Quantile(0.99));
        Assert.Equal(0, LatencyStats.Of(sketch).Max);
    }

    [Theory]
    [InlineData(20)]
    [InlineData(50_000)]
    public void A_sketch_stored_as_buckets_merges_back_into_the_same_sketch(int values)
    {
        // 20 values keep the sketch sparse; 50,000 from 1 us to 10 s make it switch to arrays, growing at both ends.
        var random = new Random(11);
        var sketch = new LatencySketch();
        for (var i = 0; i < values; i++)
        {
            sketch.Add(values > 100 && i % 2 == 0 ? random.Next(2_000, 10_000_000) : random.Next(0, 3_000));
        }

        var stored = AuditGateway.Reports.SketchData.Of(sketch);
        Assert.True(stored.Keys.SequenceEqual(stored.Keys.Order()), "keys in order");
        Assert.Equal(sketch.Count, stored.Counts.Sum());
        var restored = new LatencySketch();
        restored.Merge(stored);
        Assert.Equal((sketch.Count, sketch.Min, sketch.Max), (restored.Count, restored.Min, restored.Max));
        Assert.Equal(sketch.Buckets, restored.Buckets);
        Assert.All(Quantiles, q => Assert.Equal(sketch.Quantile(q), restored.Quantile(q)));
    }
}
