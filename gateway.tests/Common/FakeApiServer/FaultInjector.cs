namespace AuditGateway.Tests.Common.FakeApiServer;

/// <summary>Failures a test can switch on; every member is safe to call from any thread.</summary>
internal sealed class FaultInjector(ResourceStore store, TimeProvider time)
{
    private int _failRequests;
    private int _expireWatches;
    private long _failUntilTicks;
    private long _latencyTicks;

    /// <summary>Closes every open watch (the client sees the stream end).</summary>
    public void DropWatches() => store.DropWatches();

    /// <summary>The next <paramref name="count"/> watches get a 200 stream with one ERROR 410 Expired event.</summary>
    public void ExpireNextWatches(int count = 1) => Interlocked.Exchange(ref _expireWatches, count);

    /// <summary>The next <paramref name="count"/> authenticated API requests answer 500.</summary>
    public void FailRequests(int count) => Interlocked.Exchange(ref _failRequests, count);

    /// <summary>Every API request answers 500 for <paramref name="period"/>.</summary>
    public void FailRequestsFor(TimeSpan period) =>
        Interlocked.Exchange(ref _failUntilTicks, time.GetUtcNow().Add(period).UtcTicks);

    /// <summary>Each API request waits this long before being served.</summary>
    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks));
        set => Interlocked.Exchange(ref _latencyTicks, value.Ticks);
    }

    /// <summary>Forgets the watch history: any resume RV older than now becomes 410.</summary>
    public void CompactHistory() => store.Compact();

    /// <summary>Sends a BOOKMARK at the current RV to every watch that allows bookmarks.</summary>
    public void SendBookmarks() => store.SendBookmarks();

    /// <summary>Stops every fault (not the ones already delivered).</summary>
    public void Clear()
    {
        Interlocked.Exchange(ref _failRequests, 0);
        Interlocked.Exchange(ref _expireWatches, 0);
        Interlocked.Exchange(ref _failUntilTicks, 0);
        Latency = TimeSpan.Zero;
    }

    internal bool ShouldFail()
    {
        if (time.GetUtcNow().UtcTicks < Interlocked.Read(ref _failUntilTicks))
        {
            return true;
        }

        return TakeOne(ref _failRequests);
    }

    internal bool ShouldExpireWatch() => TakeOne(ref _expireWatches);

    private static bool TakeOne(ref int counter)
    {
        while (true)
        {
            var n = Volatile.Read(ref counter);
            if (n <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref counter, n - 1, n) == n)
            {
                return true;
            }
        }
    }
}
