using System.Net;

namespace AuditGateway.Policy;

internal sealed partial class InMemoryBlockList
{
    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Blocked {Client} until {ExpiresAt:o} ({Detector}: {Evidence})")]
        public static partial void Blocked(ILogger logger, IPAddress client, DateTimeOffset expiresAt, string detector, string evidence);

        [LoggerMessage(Level = LogLevel.Information, Message = "Unblocked {Client} (by {By})")]
        public static partial void Unblocked(ILogger logger, IPAddress client, string by);
    }
}
