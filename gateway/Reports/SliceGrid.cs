namespace AuditGateway.Reports;

/// <summary>
/// The time slices a report's timelines share: at most <see cref="MaxSlices"/> slices of equal width
/// from <see cref="Start"/>. A grid not given its range starts at the first
/// timestamp (one-millisecond slices at first) and doubles the width whenever a timestamp falls past the last slice; each
/// <see cref="SliceSeries"/> merges pairs of its slices to follow.
/// </summary>
internal sealed class SliceGrid
{
    public const int MaxSlices = 60;

    public SliceGrid(DateTimeOffset? from, DateTimeOffset? to)
    {
        if (from is { } start && to is { } end && end > start)
        {
            Start = start;
            Width = TimeSpan.FromMilliseconds(Math.Max(1, Math.Ceiling((end - start).TotalMilliseconds / MaxSlices)));
        }
        else
        {
            Start = from;
        }
    }

    public DateTimeOffset? Start { get; private set; }

    public TimeSpan Width { get; private set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>How many times the width doubled.</summary>
    public int Level { get; private set; }

    /// <summary>The slice of <paramref name="time"/>, widening the grid when needed (earlier times go to the first slice).</summary>
    public int IndexOf(DateTimeOffset time)
    {
        var start = Start ??= new DateTimeOffset(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
        var ticks = Math.Max(0, (time - start).Ticks);
        while (ticks / Width.Ticks >= MaxSlices)
        {
            Width *= 2;
            Level++;
        }

        return (int)(ticks / Width.Ticks);
    }
}

/// <summary>One route's latencies per slice of a <see cref="SliceGrid"/>.</summary>
internal sealed class SliceSeries
{
    private Dictionary<int, LatencySketch> _slices = [];
    private int _level;

    public void Add(SliceGrid grid, DateTimeOffset time, long latencyUs) => At(grid, time).Add(latencyUs);

    /// <summary>Adds a whole sketch at <paramref name="time"/> (a minute of a rollup).</summary>
    public void Merge(SliceGrid grid, DateTimeOffset time, SketchData latencies) => At(grid, time).Merge(latencies);

    private LatencySketch At(SliceGrid grid, DateTimeOffset time)
    {
        var index = grid.IndexOf(time);
        Follow(grid);
        if (!_slices.TryGetValue(index, out var sketch))
        {
            _slices[index] = sketch = new LatencySketch();
        }

        return sketch;
    }

    public IReadOnlyList<TimeSlice> Slices(SliceGrid grid)
    {
        Follow(grid);
        return [.. _slices.OrderBy(s => s.Key).Select(s => new TimeSlice(
            grid.Start!.Value + (grid.Width * s.Key), s.Value.Count, s.Value.Quantile(0.5), s.Value.Quantile(0.9), s.Value.Quantile(0.99), s.Value.Max))];
    }

    /// <summary>Merges pairs of slices until this series has the grid's width.</summary>
    private void Follow(SliceGrid grid)
    {
        for (; _level < grid.Level; _level++)
        {
            var merged = new Dictionary<int, LatencySketch>();
            foreach (var (index, sketch) in _slices)
            {
                if (merged.TryGetValue(index / 2, out var into))
                {
                    into.Merge(sketch);
                }
                else
                {
                    merged[index / 2] = sketch;
                }
            }

            _slices = merged;
        }
    }
}
