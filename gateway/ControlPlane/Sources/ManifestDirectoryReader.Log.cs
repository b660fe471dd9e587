namespace AuditGateway.ControlPlane.Sources;

internal sealed partial class ManifestDirectoryReader
{
    [LoggerMessage(Level = LogLevel.Error, Message = "Manifest {Message}; {Consequence}")]
    private static partial void LogFileRefused(ILogger logger, string message, string consequence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Manifest {Path} could not be read ({Reason}); retrying on the next change")]
    private static partial void LogFileUnreadable(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Manifest {Message}")]
    private static partial void LogDuplicate(ILogger logger, string message);
}
