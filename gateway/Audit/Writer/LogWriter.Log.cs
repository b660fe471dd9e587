using AuditGateway.Audit.Entries;

namespace AuditGateway.Audit.Writer;

internal sealed partial class LogWriter
{
    private static partial class Log
    {
        [LoggerMessage(4, LogLevel.Information, "Audit log closed with {Size} durable entries.")]
        public static partial void Closed(ILogger logger, long size);

        [LoggerMessage(5, LogLevel.Critical, "The audit writer failed; no more entries can be written.")]
        public static partial void WriterFailed(ILogger logger, Exception exception);

        [LoggerMessage(6, LogLevel.Error, "An audit entry of kind {Kind} could not be encoded and was refused.")]
        public static partial void EntryRejected(ILogger logger, AuditKind kind, Exception exception);
    }
}
