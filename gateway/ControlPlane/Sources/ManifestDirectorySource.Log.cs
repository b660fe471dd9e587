namespace AuditGateway.ControlPlane.Sources;

internal sealed partial class ManifestDirectorySource
{
    [LoggerMessage(Level = LogLevel.Error, Message = "Rescanning {Directory} failed")]
    private static partial void LogRescanFailed(ILogger logger, string directory, Exception exception);
}
