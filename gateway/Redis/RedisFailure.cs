using StackExchange.Redis;

namespace AuditGateway.Redis;

/// <summary>Why a Redis operation failed, in a few words for a log line or an error (the client's own messages run to lines of diagnostics).</summary>
internal static class RedisFailure
{
    public static string Describe(Exception e, TimeSpan timeout) => e switch
    {
        RedisConnectionException c => c.FailureType switch
        {
            ConnectionFailureType.AuthenticationFailure => "it refused the credentials",
            ConnectionFailureType.UnableToConnect or ConnectionFailureType.UnableToResolvePhysicalConnection or ConnectionFailureType.SocketFailure or ConnectionFailureType.SocketClosed => "cannot connect",
            var other => other.ToString(),
        },
        RedisTimeoutException or TimeoutException => timeout < TimeSpan.FromSeconds(1) ? $"no answer within {timeout.TotalMilliseconds:0} ms" : $"no answer within {timeout.TotalSeconds:0.#} s",
        _ => e.Message,
    };
}
