namespace AuditGateway.Policy;

internal sealed partial class RateLimiter
{
    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Rate limiter held more than {MaxBuckets} buckets; dropped the {Dropped} least recently used (their clients start with full buckets)")]
        public static partial void BucketsTrimmed(ILogger logger, int dropped, int maxBuckets);
    }
}
