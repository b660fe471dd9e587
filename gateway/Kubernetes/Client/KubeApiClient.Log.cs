namespace AuditGateway.Kubernetes.Client;

internal sealed partial class KubeApiClient
{
    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Kubernetes API {Server}: insecure-skip-tls-verify is set, the server's certificate is not checked")]
        public static partial void InsecureSkipTlsVerify(ILogger logger, Uri server);

        [LoggerMessage(Level = LogLevel.Information, Message = "Kubernetes API refused the exec plugin's credential for user {User} (401 on {Method} {Path}): running the plugin again")]
        public static partial void CredentialRefused(ILogger logger, string user, HttpMethod method, string path);

        [LoggerMessage(Level = LogLevel.Information, Message = "Exec plugin of user {User} gave a new credential (expires {Expires:O}; new client certificate: {Rotated})")]
        public static partial void CredentialReplaced(ILogger logger, string user, DateTimeOffset? expires, bool rotated);
    }
}
