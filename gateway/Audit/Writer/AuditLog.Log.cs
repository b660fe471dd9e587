namespace AuditGateway.Audit.Writer;

internal sealed partial class AuditLog
{
    private static partial class Log
    {
        [LoggerMessage(2, LogLevel.Warning, "The audit log was not closed cleanly; cut {Bytes} bytes ({Lines} partial lines) from {Segment} and continue at seq {Seq}.")]
        public static partial void Recovered(ILogger logger, long bytes, int lines, string segment, long seq);

        [LoggerMessage(3, LogLevel.Information, "Audit log open in {Directory} with {Size} durable entries; SHA-256 by {Sha256}.")]
        public static partial void Opened(ILogger logger, string directory, long size, string sha256);

        [LoggerMessage(7, LogLevel.Warning, "SHA-256 implementations refused by the self-test against .NET's: {Refused}; the audit log uses {Sha256}.")]
        public static partial void Sha256Refused(ILogger logger, string refused, string sha256);
    }
}
