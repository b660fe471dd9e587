using AuditGateway.Policy;
using AuditGateway.Tests.Common;
using Microsoft.Extensions.Logging.Abstractions;

namespace AuditGateway.Tests.Policy;

public sealed class RateLimiterTests : IDisposable
{
    private static readonly RateLimit FivePerSecond = new(5, 1, RateLimitKey.Client);
    private static readonly RateLimit SixtyPerMinute = new(60, 60, RateLimitKey.Client);

    private readonly ManualTimeProvider _time = new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly RateLimiter _limiter;

    public RateLimiterTests() => _limiter = new RateLimiter(_time, NullLogger<RateLimiter>.Instance);

    public void Dispose() => _limiter.Dispose();

    [Fact]
    public void Allows_a_burst_of_capacity_then_refuses()
    {
        for (var i = 0; i < 5; i++)
        {
            Assert.True(_limiter.TryAcquire("r", "a", FivePerSecond));
        }

        Assert.False(_limiter.TryAcquire("r", "a", FivePerSecond, out var retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(200), retryAfter);
    }

    [Fact]
    public void Refills_n_per_period_exactly()
    {
        Drain("r", "a", SixtyPerMinute);

        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(_limiter.TryAcquire("r", "a", SixtyPerMinute, out var retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(1), retryAfter);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(_limiter.TryAcquire("r", "a", SixtyPerMinute));
        Assert.False(_limiter.TryAcquire("r", "a", SixtyPerMinute));

        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(10, Drain("r", "a", SixtyPerMinute));
    }

    [Fact]
    public void Refill_never_exceeds_capacity()
    {
        Drain("r", "a", FivePerSecond);
        _time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(5, Drain("r", "a", FivePerSecond));
    }

    [Fact]
    public void Sustained_rate_is_the_limit()
    {
        Drain("r", "a", FivePerSecond);
        var allowed = 0;
        for (var step = 0; step < 1000; step++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(10));
            allowed += _limiter.TryAcquire("r", "a", FivePerSecond) ? 1 : 0;
        }

        Assert.Equal(50, allowed);
    }

    [Fact]
    public void Keys_and_routes_are_isolated()
    {
        Drain("r", "a", FivePerSecond);

        Assert.True(_limiter.TryAcquire("r", "b", FivePerSecond));
        Assert.True(_limiter.TryAcquire("other", "a", FivePerSecond));
        Assert.False(_limiter.TryAcquire("r", "a", FivePerSecond));
    }

    [Fact]
    public void A_changed_limit_applies_to_an_existing_bucket()
    {
        Assert.Equal(5, Drain("r", "a", FivePerSecond));
        _time.Advance(TimeSpan.FromSeconds(1));

        var bigger = new RateLimit(10, 1, RateLimitKey.Client);
        Assert.Equal(5, Drain("r", "a", bigger));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(10, Drain("r", "a", bigger));
    }

    [Fact]
    public void Idle_buckets_are_swept_without_changing_behaviour()
    {
        Drain("r", "a", FivePerSecond);
        _limiter.TryAcquire("r", "b", SixtyPerMinute);
        Assert.Equal(2, _limiter.Count);

        _time.Advance(TimeSpan.FromSeconds(10)); // the sweep timer fires: "a" is full again, "b" is not
        Assert.Equal(1, _limiter.Count);

        _time.Advance(TimeSpan.FromSeconds(50)); // "b" has been idle a whole minute
        Assert.Equal(0, _limiter.Count);
        Assert.Equal(5, Drain("r", "a", FivePerSecond));
    }

    [Fact]
    public void Memory_is_capped_by_dropping_least_recently_used_buckets()
    {
        using var limiter = new RateLimiter(_time, NullLogger<RateLimiter>.Instance, maxBuckets: 100);
        for (var i = 0; i < 100; i++)
        {
            limiter.TryAcquire("r", $"client-{i}", SixtyPerMinute);
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.Equal(100, limiter.Count);
        limiter.TryAcquire("r", "client-new", SixtyPerMinute);

        Assert.Equal(90, limiter.Count);
        Assert.Equal(59, DrainOn(limiter, "client-99")); // kept: one token was already taken
        Assert.Equal(60, DrainOn(limiter, "client-0"));  // dropped: starts full again

        static int DrainOn(RateLimiter limiter, string key)
        {
            var taken = 0;
            while (limiter.TryAcquire("r", key, SixtyPerMinute))
            {
                taken++;
            }

            return taken;
        }
    }

    [Fact]
    public void Concurrent_acquires_never_exceed_capacity()
    {
        var limit = new RateLimit(1000, 60, RateLimitKey.Client);
        var allowed = 0;
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 500; i++)
            {
                if (_limiter.TryAcquire("r", "shared", limit))
                {
                    Interlocked.Increment(ref allowed);
                }
            }
        });

        Assert.Equal(1000, allowed);
    }

    [Fact]
    public void Acquiring_from_an_existing_bucket_does_not_allocate()
    {
        var limit = new RateLimit(1_000_000, 1, RateLimitKey.Client);
        _limiter.TryAcquire("r", "a", limit);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            _limiter.TryAcquire("r", "a", limit, out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private int Drain(string route, string key, RateLimit limit)
    {
        var taken = 0;
        while (_limiter.TryAcquire(route, key, limit))
        {
            taken++;
        }

        return taken;
    }
}
