namespace AuditGateway.Policy;

/// <summary>
/// In-process token buckets keyed by (route id, client or identity key).
/// </summary>
/// <remarks>
/// Tokens are counted in exact integer units (one token = the period in <see cref="TimeProvider"/>
/// timestamp ticks; each elapsed tick adds <see cref="RateLimit.Requests"/> units), so refill has no
/// rounding drift. A bucket untouched for a whole period is full, so dropping it changes nothing;
/// a periodic sweep does that. Past <c>maxBuckets</c> the least recently used buckets are dropped,
/// which resets them to full: under such a flood the limit is approximate, memory is not.
/// Each request locks only its own bucket.
/// </remarks>
internal sealed partial class RateLimiter : IRateLimitStore, IDisposable
{
    public const int DefaultMaxBuckets = 100_000;

    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _time;
    private readonly ILogger<RateLimiter> _logger;
    private readonly BoundedStateTable<BucketKey, Bucket> _buckets;
    private readonly ITimer _sweeper;

    public RateLimiter(TimeProvider time, ILogger<RateLimiter> logger, int maxBuckets = DefaultMaxBuckets)
    {
        _time = time;
        _logger = logger;
        _buckets = new BoundedStateTable<BucketKey, Bucket>(maxBuckets, static (_, _) => new Bucket(), IsIdle);
        _buckets.Trimmed += dropped => Log.BucketsTrimmed(_logger, dropped, maxBuckets);
        _sweeper = time.CreateTimer(static state => ((RateLimiter)state!).Sweep(), this, SweepInterval, SweepInterval);
    }

    /// <summary>Buckets currently held.</summary>
    public int Count => _buckets.Count;

    public bool TryAcquire(string routeId, string key, RateLimit limit, out TimeSpan retryAfter)
    {
        ArgumentNullException.ThrowIfNull(limit);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit.Requests, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit.PeriodSeconds, 1);
        var now = _time.GetTimestamp();
        var waitTicks = _buckets.Update(new BucketKey(routeId, key), now, (limit, now, _time.TimestampFrequency), static (bucket, arg) => bucket.Take(arg.limit, arg.now, arg.TimestampFrequency));
        retryAfter = waitTicks == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds((double)waitTicks / _time.TimestampFrequency);
        return waitTicks == 0;
    }

    /// <summary>Drops buckets that have refilled completely; the timer calls this every 10 s.</summary>
    internal int Sweep() => _buckets.Sweep(_time.GetTimestamp());

    public void Dispose() => _sweeper.Dispose();

    private static bool IsIdle(Bucket bucket, long now) => bucket.Limit is null || now - bucket.Updated >= bucket.PeriodTicks;

    private readonly record struct BucketKey(string RouteId, string Key);

    private sealed class Bucket : TrackedState
    {
        private Int128 _units;

        public RateLimit? Limit { get; private set; }

        public long Updated { get; private set; }

        public long PeriodTicks { get; private set; }

        /// <summary>Takes a token; returns 0, or the timestamp ticks until one is available.</summary>
        public long Take(RateLimit limit, long now, long frequency)
        {
            if (Limit is null)
            {
                Limit = limit;
                PeriodTicks = limit.PeriodSeconds * frequency;
                _units = (Int128)limit.Requests * PeriodTicks;
                Updated = now;
            }

            var elapsed = Math.Clamp(now - Updated, 0, PeriodTicks);
            _units = Int128.Min((Int128)Limit.Requests * PeriodTicks, _units + ((Int128)elapsed * Limit.Requests));
            Updated = now;
            if (!ReferenceEquals(limit, Limit) && limit != Limit)
            {
                // The route's limit changed: keep the tokens left, up to the new capacity.
                var periodTicks = limit.PeriodSeconds * frequency;
                _units = Int128.Min((Int128)limit.Requests * periodTicks, _units * periodTicks / PeriodTicks);
                Limit = limit;
                PeriodTicks = periodTicks;
            }

            if (_units >= PeriodTicks)
            {
                _units -= PeriodTicks;
                return 0;
            }

            var missing = PeriodTicks - _units;
            return (long)((missing + limit.Requests - 1) / limit.Requests);
        }
    }
}
