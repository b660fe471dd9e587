namespace AuditGateway.Tests.Common;

public sealed class ManualTimeProviderTests
{
    [Fact]
    public void Timers_fire_when_the_clock_passes_them()
    {
        var time = new ManualTimeProvider();
        var fired = new List<DateTimeOffset>();
        using var once = time.CreateTimer(_ => fired.Add(time.GetUtcNow()), null, TimeSpan.FromSeconds(10), Timeout.InfiniteTimeSpan);
        using var periodic = time.CreateTimer(_ => fired.Add(time.GetUtcNow()), null, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(4));
        var start = time.GetUtcNow();

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal([start.AddSeconds(4), start.AddSeconds(8)], fired);

        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal([start.AddSeconds(4), start.AddSeconds(8), start.AddSeconds(10), start.AddSeconds(12)], fired);
        Assert.Equal(start.AddSeconds(12), time.GetUtcNow());
    }

    [Fact]
    public void Cancellation_after_a_timeout_follows_the_fake_clock()
    {
        var time = new ManualTimeProvider();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5), time);

        time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(cts.IsCancellationRequested);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(cts.IsCancellationRequested);
    }
}
