using System.Collections.Concurrent;
using AuditGateway.Policy;
using StackExchange.Redis;

namespace AuditGateway.Redis;

/// <summary>
/// Rate limits counted across replicas (docs/replicas.md) with no Redis round trip on the request path.
/// The bucket of a route and client (or identity) lives in Redis, refilled by a script on Redis's own
/// clock (<c>TIME</c>); each replica leases tokens from it in batches and spends them locally, asking
/// for the next batch when half of one is left. A new local bucket starts with one batch on credit,
/// paid back from its first lease, so a first request never waits either. What one replica holds
/// unspent is at most a batch, so the limit is exceeded by at most replicas × batch, where the batch
/// is 1 % of the limit over the replicas (at least 1): at most max(1 % of the limit, replicas).
/// While Redis is down each replica enforces limit ÷ replicas on its own (the last count it saw).
/// </summary>
internal sealed class SharedRateLimiter : IRateLimitStore, IDisposable
{
    private const int MaxBatch = 1000;

    /// <summary>Waits after a failed lease before the bucket asks again.</summary>
    private static readonly TimeSpan FailedLeasePause = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);

    private static readonly LuaScript LeaseScript = LuaScript.Prepare("""
        local capacity = tonumber(@capacity)
        local period = tonumber(@periodUs)
        local want = tonumber(@want)
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
        local stored = redis.call('HMGET', @bucket, 't', 'n')
        local tokens = tonumber(stored[2])
        local at = tonumber(stored[1])
        if tokens == nil or at == nil then
          tokens = capacity
        elseif now > at then
          tokens = math.min(capacity, tokens + (now - at) * capacity / period)
        else
          tokens = math.min(capacity, tokens)
        end
        local grant = math.min(want, math.floor(tokens))
        tokens = tokens - grant
        redis.call('HSET', @bucket, 't', now, 'n', tokens)
        redis.call('PEXPIRE', @bucket, math.ceil(period / 1000) * 2)
        local wait = 0
        if grant < want then wait = math.ceil((1 - (tokens - math.floor(tokens))) * period / capacity / 1000) end
        return { grant, wait }
        """);

    private readonly RedisLink _link;
    private readonly RateLimiter _fallback;
    private readonly TimeProvider _time;
    private readonly BoundedStateTable<BucketKey, LeaseBucket> _buckets;
    private readonly ConcurrentDictionary<(RateLimit Limit, int Replicas), RateLimit> _scaled = new();
    private readonly ITimer _sweeper;

    public SharedRateLimiter(RedisLink link, RateLimiter fallback, TimeProvider time, int maxBuckets = RateLimiter.DefaultMaxBuckets)
    {
        _link = link;
        _fallback = fallback;
        _time = time;
        _buckets = new BoundedStateTable<BucketKey, LeaseBucket>(maxBuckets, static (_, _) => new LeaseBucket(), IsIdle);
        _sweeper = time.CreateTimer(static state => ((SharedRateLimiter)state!).Sweep(), this, SweepInterval, SweepInterval);
    }

    /// <summary>The batch a replica leases for <paramref name="limit"/> when <paramref name="replicas"/> share it.</summary>
    public static int BatchFor(RateLimit limit, int replicas) => Math.Clamp((int)Math.Ceiling(limit.Requests * 0.01 / Math.Max(1, replicas)), 1, MaxBatch);

    /// <summary>Local buckets held.</summary>
    public int Count => _buckets.Count;

    public bool TryAcquire(string routeId, string key, RateLimit limit, out TimeSpan retryAfter)
    {
        ArgumentNullException.ThrowIfNull(limit);
        if (!_link.IsUp)
        {
            var replicas = _link.Replicas;
            var scaled = replicas <= 1 ? limit : _scaled.GetOrAdd((limit, replicas), static k => k.Limit with { Requests = Math.Max(1, k.Limit.Requests / k.Replicas) });
            return _fallback.TryAcquire(routeId, key, scaled, out retryAfter);
        }

        var now = _time.GetTimestamp();
        var bucketKey = new BucketKey(routeId, key);
        var (taken, lease, waitTicks) = _buckets.Update(bucketKey, now, (limit, now, replicas: _link.Replicas, frequency: _time.TimestampFrequency), static (bucket, arg) => bucket.Take(arg.limit, arg.now, arg.replicas, arg.frequency));
        if (lease is not null)
        {
            _ = LeaseAsync(bucketKey, lease, limit);
        }

        retryAfter = taken ? TimeSpan.Zero : TimeSpan.FromSeconds((double)waitTicks / _time.TimestampFrequency);
        return taken;
    }

    public void Dispose() => _sweeper.Dispose();

    internal int Sweep() => _buckets.Sweep(_time.GetTimestamp());

    private static bool IsIdle(LeaseBucket bucket, long now) => !bucket.Leasing && (bucket.Limit is null || now - bucket.LastUsed >= bucket.PeriodTicks);

    private async Task LeaseAsync(BucketKey key, LeaseBucket bucket, RateLimit limit)
    {
        int want;
        lock (bucket)
        {
            want = bucket.Batch + bucket.Debt;
        }

        long granted = 0, waitMs = 0;
        var ok = false;
        if (_link.Database is { } database)
        {
            try
            {
                var result = (RedisResult[])(await LeaseScript.EvaluateAsync(database, new
                {
                    bucket = (RedisKey)$"auditgw:rl:{key.RouteId}|{key.Key}",
                    capacity = limit.Requests,
                    periodUs = limit.PeriodSeconds * 1_000_000L,
                    want,
                }))!;
                granted = (long)result[0];
                waitMs = (long)result[1];
                ok = true;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                _link.Failed();
            }
        }

        var now = _time.GetTimestamp();
        lock (bucket)
        {
            bucket.Leased(ok, (int)granted, want, ok ? now + (waitMs * _time.TimestampFrequency / 1000) : now + (long)(FailedLeasePause.TotalSeconds * _time.TimestampFrequency));
        }
    }

    private readonly record struct BucketKey(string RouteId, string Key);

    /// <summary>This replica's share of one shared bucket: tokens leased and not spent, and credit not yet paid back.</summary>
    private sealed class LeaseBucket : TrackedState
    {
        public RateLimit? Limit { get; private set; }

        public long PeriodTicks { get; private set; }

        public int Batch { get; private set; }

        public int Tokens { get; private set; }

        /// <summary>Tokens spent on credit, paid back from the next leases.</summary>
        public int Debt { get; private set; }

        public bool Leasing { get; private set; }

        /// <summary>Before this timestamp the bucket does not ask Redis again (it was empty, or Redis failed).</summary>
        public long RetryAt { get; private set; }

        /// <summary>Takes a token if one is here; says whether to lease now (this bucket, once) and, when refused, how long until a token may come.</summary>
        public (bool Taken, LeaseBucket? Lease, long WaitTicks) Take(RateLimit limit, long now, int replicas, long frequency)
        {
            if (Limit is null)
            {
                Batch = BatchFor(limit, replicas);
                Tokens = Batch;
                Debt = Batch;
            }

            if (!ReferenceEquals(limit, Limit) && limit != Limit)
            {
                Limit = limit;
                PeriodTicks = limit.PeriodSeconds * frequency;
                Batch = BatchFor(limit, replicas);
            }

            var taken = Tokens > 0;
            if (taken)
            {
                Tokens--;
            }

            var lease = !Leasing && Tokens <= Batch / 2 && now >= RetryAt;
            if (lease)
            {
                Leasing = true;
            }

            var tokenTicks = PeriodTicks / Math.Max(1, limit.Requests);
            return (taken, lease ? this : null, taken ? 0 : Math.Max(RetryAt - now, tokenTicks));
        }

        public void Leased(bool ok, int granted, int wanted, long retryAt)
        {
            Leasing = false;
            if (ok)
            {
                var repaid = Math.Min(granted, Debt);
                Debt -= repaid;
                Tokens += granted - repaid;
            }

            RetryAt = !ok || granted < wanted ? retryAt : 0;
        }
    }
}
