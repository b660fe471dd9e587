using AuditGateway.Audit.Entries;
using Microsoft.Extensions.Logging;

namespace AuditGateway.Audit.Writer;

internal sealed partial class AuditLog
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "No audit signing key was configured; generated a new ECDSA P-256 key at {Path}. Keep it safe and give auditors its public key.")]
        public static partial void GeneratedSigningKey(ILogger logger, string path);

        [LoggerMessage(2, LogLevel.Warning, "The audit log was not closed cleanly; cut {Bytes} bytes ({Lines} partial lines) from {Segment} and continue at seq {Seq}.")]
        public static partial void Recovered(ILogger logger, long bytes, int lines, string segment, long seq);

        [LoggerMessage(3, LogLevel.Information, "Audit log open in {Directory} with {Size} durable entries.")]
        public static partial void Opened(ILogger logger, string directory, long size);

        [LoggerMessage(4, LogLevel.Information, "Audit log closed with {Size} durable entries.")]
        public static partial void Closed(ILogger logger, long size);

        [LoggerMessage(5, LogLevel.Critical, "The audit writer failed; no more entries can be written.")]
        public static partial void WriterFailed(ILogger logger, Exception exception);

        [LoggerMessage(6, LogLevel.Error, "An audit entry of kind {Kind} could not be encoded and was refused.")]
        public static partial void EntryRejected(ILogger logger, AuditKind kind, Exception exception);
    }
}
