using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace AuditGateway.Kubernetes.Client;

/// <summary>
/// A kubeconfig user's credentials, as kubectl picks them: <c>token</c> (else <c>tokenFile</c>),
/// a client certificate, and — only when neither is set — an <c>exec</c> plugin. Anything the
/// client cannot use (an <c>auth-provider</c>, basic auth, impersonation) is an error naming the
/// user, never a silent start without credentials.
/// </summary>
internal static class KubeconfigCredentials
{
    /// <summary>The exec plugins that replaced client-go's built-in auth providers.</summary>
    private static readonly Dictionary<string, string> Replacements = new(StringComparer.Ordinal)
    {
        ["gcp"] = "gke-gcloud-auth-plugin (GKE; kubectl dropped the gcp provider in 1.26)",
        ["azure"] = "kubelogin (Azure/kubelogin; kubectl dropped the azure provider in 1.26)",
        ["oidc"] = "kubelogin (int128/kubelogin, 'kubectl oidc-login get-token')",
    };

    public static KubeClientConfig Read(KubeconfigReader reader, string userName, ExecCluster cluster, TimeProvider time, KubeClientConfig config)
    {
        var user = reader.Named("users", userName, "user");
        var u = $"users[{userName}].user";
        Refuse(reader, user, u);

        IBearerTokenSource? token = null;
        if (KubeconfigReader.String(user, "token") is { Length: > 0 } staticToken)
        {
            token = new StaticTokenSource(staticToken);
        }
        else if (reader.File(user, "tokenFile", u) is { } tokenFile)
        {
            token = new FileTokenSource(tokenFile, time);
        }

        var certificate = ClientCertificate(reader, user, u);
        var exec = token is null && certificate is null && user["exec"] is JsonObject e
            ? new ExecCredentialSource(ExecPluginConfig.Parse(reader, e, userName, cluster), time)
            : null;
        return config with { Token = token, ClientCertificate = certificate, Exec = exec };
    }

    private static void Refuse(KubeconfigReader reader, JsonObject user, string u)
    {
        if (user["auth-provider"] is JsonObject provider)
        {
            var name = KubeconfigReader.String(provider, "name") ?? "";
            var instead = Replacements.TryGetValue(name, out var plugin) ? "the exec plugin " + plugin : "an exec credential plugin";
            throw reader.Error($"{u}.auth-provider '{name}' is not supported: use {instead} (users[].user.exec)");
        }

        if (KubeconfigReader.String(user, "username") is { Length: > 0 } || KubeconfigReader.String(user, "password") is { Length: > 0 })
        {
            throw reader.Error($"{u}.username/password (basic authentication) is not supported: the API server dropped it in 1.19; use a token, a client certificate or an exec plugin");
        }

        if (user["as"] is not null || user["as-groups"] is not null || user["as-uid"] is not null || user["as-user-extra"] is not null)
        {
            throw reader.Error($"{u}.as (impersonation) is not supported: give the gateway's own identity the permissions it needs");
        }
    }

    private static X509Certificate2? ClientCertificate(KubeconfigReader reader, JsonObject user, string u)
    {
        var certPem = reader.Bytes(user, "client-certificate-data", u) is { } cd ? Encoding.ASCII.GetString(cd)
            : reader.File(user, "client-certificate", u) is { } cf ? File.ReadAllText(cf) : null;
        var keyPem = reader.Bytes(user, "client-key-data", u) is { } kd ? Encoding.ASCII.GetString(kd)
            : reader.File(user, "client-key", u) is { } kf ? File.ReadAllText(kf) : null;
        if (certPem is null && keyPem is null)
        {
            return null;
        }

        if (certPem is null || keyPem is null)
        {
            throw reader.Error($"{u}: client-certificate and client-key must both be set");
        }

        try
        {
            return X509Certificate2.CreateFromPem(certPem, keyPem);
        }
        catch (CryptographicException e)
        {
            throw reader.Error($"{u}.client-certificate/client-key: {e.Message}");
        }
    }
}
