namespace AuditGateway.Policy.Identity;

internal sealed partial class JwtAuthenticator
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Keys file {Path}: {Key}; tokens signed with it are refused, the other keys keep working")]
    private static partial void LogFileKeySkipped(ILogger logger, string path, string key);
}
