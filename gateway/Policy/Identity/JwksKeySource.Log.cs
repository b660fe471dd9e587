namespace AuditGateway.Policy.Identity;

internal sealed partial class JwksKeySource
{
    [LoggerMessage(Level = LogLevel.Information, Message = "JWKS {Uri}: {Count} key(s) loaded (kid {KeyIds})")]
    private static partial void LogRefreshed(ILogger logger, Uri uri, int count, string keyIds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "JWKS {Uri}: {Key}; tokens signed with it are refused, the other keys keep working")]
    private static partial void LogKeySkipped(ILogger logger, Uri uri, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "JWKS {Uri} could not be refreshed ({Reason}); keeping the key set loaded at {LoadedAt:O}")]
    private static partial void LogRefreshFailed(ILogger logger, Uri uri, string reason, DateTimeOffset loadedAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "JWKS {Uri} could not be fetched ({Reason}); tokens of this issuer are refused until it can")]
    private static partial void LogFetchFailedNoKeys(ILogger logger, Uri uri, string reason);
}
