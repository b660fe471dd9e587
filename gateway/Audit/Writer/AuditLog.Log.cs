using Microsoft.Extensions.Logging;

namespace AuditGateway.Audit.Writer;

internal sealed partial class AuditLog
{
    private static partial class Log
    {
        [LoggerMessage(2, LogLevel.Warning, "The audit log was not closed cleanly; cut {Bytes} bytes ({Lines} partial lines) from {Segment} and continue at seq {Seq}.")]
        public static partial void Recovered(ILogger logger, long bytes, int lines, string segment, long seq);

        [LoggerMessage(3, LogLevel.Information, "Audit log open in {Directory} with {Size} durable entries.")]
        public static partial void Opened(ILogger logger, string directory, long size);
    }
}
