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

        [LoggerMessage(8, LogLevel.Error, "The audit log cannot be written: {Reason}. Until it can, requests are {Handling}; retrying by itself.")]
        public static partial void Unwritable(ILogger logger, string reason, string handling);

        [LoggerMessage(9, LogLevel.Warning, "The audit log is writable again after {Seconds:0.###} s: {Refused} requests refused, {Unaudited} forwarded unaudited, {Lost} entries lost; serving again.")]
        public static partial void Writable(ILogger logger, double seconds, long refused, long unaudited, long lost);

        [LoggerMessage(10, LogLevel.Critical, "The audit log closed while it could not be written ({Reason}): {Lost} entries were lost; {Size} entries are durable.")]
        public static partial void ClosedUnwritable(ILogger logger, long lost, string reason, long size);

        [LoggerMessage(6, LogLevel.Error, "An audit entry of kind {Kind} could not be encoded and was refused.")]
        public static partial void EntryRejected(ILogger logger, AuditKind kind, Exception exception);

        [LoggerMessage(19, LogLevel.Error, "An observer of durable audit entries failed ({Reason}); the entries are written, only that observer missed them.")]
        public static partial void ObserverFailed(ILogger logger, string reason);
    }
}
