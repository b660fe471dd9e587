namespace AuditGateway.Policy;

/// <summary>
/// Where rate-limit buckets live: in this process (<see cref="RateLimiter"/>) or, with Redis
/// (docs/operations.md), shared by every replica. A bucket is identified by the route id and the key
/// (the client IP or the identity, per <see cref="RateLimit.By"/>); it holds
/// <see cref="RateLimit.Requests"/> tokens and refills that many per <see cref="RateLimit.PeriodSeconds"/>.
/// </summary>
internal interface IRateLimitStore
{
    /// <summary>
    /// Takes one token. False when the bucket is empty; <paramref name="retryAfter"/> is then the
    /// time until the next token (for a <c>Retry-After</c> header), otherwise zero.
    /// </summary>
    bool TryAcquire(string routeId, string key, RateLimit limit, out TimeSpan retryAfter);
}

internal static class RateLimitStoreExtensions
{
    public static bool TryAcquire(this IRateLimitStore store, string routeId, string key, RateLimit limit)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.TryAcquire(routeId, key, limit, out _);
    }
}
