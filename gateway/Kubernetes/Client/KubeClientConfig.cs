using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AuditGateway.Configuration;

namespace AuditGateway.Kubernetes.Client;

/// <summary>A configuration that cannot be used; the message names the file and field.</summary>
internal sealed class KubeConfigException(string message) : Exception(message);

/// <summary>Where a pod's service-account files are; overridable for tests.</summary>
internal sealed record InClusterPaths(string TokenFile, string CaFile, string NamespaceFile)
{
    public const string Directory = "/var/run/secrets/kubernetes.io/serviceaccount";

    public static InClusterPaths Default { get; } = new($"{Directory}/token", $"{Directory}/ca.crt", $"{Directory}/namespace");
}

/// <summary>How to reach and authenticate to the API server.</summary>
internal sealed record KubeClientConfig
{
    public required Uri Server { get; init; }

    /// <summary>The only trust anchors for the server certificate; null means the system store.</summary>
    public X509Certificate2Collection? CaCertificates { get; init; }

    public bool InsecureSkipTlsVerify { get; init; }

    public IBearerTokenSource? Token { get; init; }

    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>The namespace for namespaced operations (leases, events): the pod's, or the context's.</summary>
    public string Namespace { get; init; } = "default";

    /// <summary>
    /// In-cluster configuration, as client-go's <c>InClusterConfig</c>: the service host and port
    /// from the environment, the projected token (re-read every minute), ca.crt and the namespace file.
    /// </summary>
    public static KubeClientConfig FromInCluster(InClusterPaths? paths = null, Func<string, string?>? environment = null, TimeProvider? time = null)
    {
        paths ??= InClusterPaths.Default;
        environment ??= Environment.GetEnvironmentVariable;
        var host = environment("KUBERNETES_SERVICE_HOST");
        var port = environment("KUBERNETES_SERVICE_PORT");
        if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(port))
        {
            throw new KubeConfigException(
                "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined");
        }

        var authority = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";
        if (!Uri.TryCreate("https://" + authority, UriKind.Absolute, out var server))
        {
            throw new KubeConfigException($"KUBERNETES_SERVICE_HOST/PORT: '{authority}' is not a valid host and port");
        }

        var token = new FileTokenSource(paths.TokenFile, time ?? TimeProvider.System);
        token.GetToken(); // A missing token file is a start-up error.
        X509Certificate2Collection? ca = null;
        if (File.Exists(paths.CaFile))
        {
            ca = LoadPem(File.ReadAllText(paths.CaFile), paths.CaFile);
        }

        var ns = File.Exists(paths.NamespaceFile) ? File.ReadAllText(paths.NamespaceFile).Trim() : "default";
        return new KubeClientConfig { Server = server, CaCertificates = ca, Token = token, Namespace = ns.Length == 0 ? "default" : ns };
    }

    /// <summary>Reads a kubeconfig file: the named context, else <c>current-context</c>.</summary>
    public static KubeClientConfig FromKubeconfig(string path, string? context = null, TimeProvider? time = null)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KubeConfigException($"kubeconfig {path}: cannot read: {e.Message}");
        }

        JsonObject root;
        try
        {
            var documents = YamlDocuments.Parse(text);
            root = (documents.Count > 0 ? documents[0].Root : null) as JsonObject
                ?? throw new KubeConfigException($"kubeconfig {path}: not a YAML mapping");
        }
        catch (YamlSyntaxException e)
        {
            throw new KubeConfigException($"kubeconfig {path}: line {e.Line}: {e.Message}");
        }

        var reader = new KubeconfigReader(path, root);
        var contextName = context ?? KubeconfigReader.String(root, "current-context")
            ?? throw new KubeConfigException($"kubeconfig {path}: current-context is not set");
        var ctx = reader.Named("contexts", contextName, "context");
        var clusterName = KubeconfigReader.String(ctx, "cluster") ?? throw reader.Missing($"contexts[{contextName}].context.cluster");
        var userName = KubeconfigReader.String(ctx, "user");
        var cluster = reader.Named("clusters", clusterName, "cluster");
        var where = $"clusters[{clusterName}].cluster";
        var serverText = KubeconfigReader.String(cluster, "server") ?? throw reader.Missing(where + ".server");
        if (!Uri.TryCreate(serverText, UriKind.Absolute, out var server) || server.Scheme is not ("https" or "http"))
        {
            throw new KubeConfigException($"kubeconfig {path}: {where}.server: '{serverText}' is not an http(s) URL");
        }

        X509Certificate2Collection? ca = null;
        if (reader.Bytes(cluster, "certificate-authority-data", where) is { } caData)
        {
            ca = LoadPem(Encoding.ASCII.GetString(caData), $"{path}: {where}.certificate-authority-data");
        }
        else if (reader.File(cluster, "certificate-authority", where) is { } caFile)
        {
            ca = LoadPem(File.ReadAllText(caFile), $"{path}: {where}.certificate-authority ({caFile})");
        }

        IBearerTokenSource? token = null;
        X509Certificate2? clientCertificate = null;
        if (userName is not null)
        {
            var user = reader.Named("users", userName, "user");
            var u = $"users[{userName}].user";
            if (KubeconfigReader.String(user, "token") is { Length: > 0 } staticToken)
            {
                token = new StaticTokenSource(staticToken);
            }
            else if (reader.File(user, "tokenFile", u) is { } tokenFile)
            {
                token = new FileTokenSource(tokenFile, time ?? TimeProvider.System);
            }

            var certPem = reader.Bytes(user, "client-certificate-data", u) is { } cd ? Encoding.ASCII.GetString(cd)
                : reader.File(user, "client-certificate", u) is { } cf ? File.ReadAllText(cf) : null;
            var keyPem = reader.Bytes(user, "client-key-data", u) is { } kd ? Encoding.ASCII.GetString(kd)
                : reader.File(user, "client-key", u) is { } kf ? File.ReadAllText(kf) : null;
            if (certPem is not null || keyPem is not null)
            {
                if (certPem is null || keyPem is null)
                {
                    throw new KubeConfigException($"kubeconfig {path}: {u}: client-certificate and client-key must both be set");
                }

                try
                {
                    clientCertificate = X509Certificate2.CreateFromPem(certPem, keyPem);
                }
                catch (System.Security.Cryptography.CryptographicException e)
                {
                    throw new KubeConfigException($"kubeconfig {path}: {u}.client-certificate/client-key: {e.Message}");
                }
            }
        }

        return new KubeClientConfig
        {
            Server = server,
            CaCertificates = ca,
            InsecureSkipTlsVerify = KubeconfigReader.Bool(cluster, "insecure-skip-tls-verify"),
            Token = token,
            ClientCertificate = clientCertificate,
            Namespace = KubeconfigReader.String(ctx, "namespace") ?? "default",
        };
    }

    private static X509Certificate2Collection LoadPem(string pem, string where)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPem(pem);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new KubeConfigException($"{where}: not a PEM certificate: {e.Message}");
        }

        return collection.Count > 0 ? collection : throw new KubeConfigException($"{where}: no PEM certificate found");
    }

    /// <summary>Field access with errors that name the file and the field.</summary>
    private sealed class KubeconfigReader(string path, JsonObject root)
    {
        public KubeConfigException Missing(string field) => new($"kubeconfig {path}: {field} is missing");

        public static string? String(JsonObject? obj, string field) =>
            obj?[field] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

        public static bool Bool(JsonObject? obj, string field) => obj?[field]?.GetValueKind() == JsonValueKind.True;

        public JsonObject Named(string list, string name, string body)
        {
            var entry = (root[list] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(e => String(e, "name") == name)
                ?? throw new KubeConfigException($"kubeconfig {path}: {list}: no entry named '{name}'");
            return entry[body] as JsonObject ?? throw Missing($"{list}[{name}].{body}");
        }

        public byte[]? Bytes(JsonObject obj, string field, string where)
        {
            if (String(obj, field) is not { Length: > 0 } text)
            {
                return null;
            }

            try
            {
                return Convert.FromBase64String(text);
            }
            catch (FormatException)
            {
                throw new KubeConfigException($"kubeconfig {path}: {where}.{field} is not valid base64");
            }
        }

        /// <summary>A file path field, resolved against the kubeconfig's directory, that must exist.</summary>
        public string? File(JsonObject obj, string field, string where)
        {
            if (String(obj, field) is not { Length: > 0 } value)
            {
                return null;
            }

            var full = Path.IsPathRooted(value) ? value : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, value);
            return System.IO.File.Exists(full) ? full : throw new KubeConfigException($"kubeconfig {path}: {where}.{field}: file {full} not found");
        }
    }
}

/// <summary>Supplies the bearer token for each request.</summary>
internal interface IBearerTokenSource
{
    string GetToken();
}

internal sealed class StaticTokenSource(string token) : IBearerTokenSource
{
    public string GetToken() => token;
}

/// <summary>
/// A token file re-read at most every <see cref="Period"/> (projected service-account tokens
/// rotate); if a re-read fails the last good token is kept.
/// </summary>
internal sealed class FileTokenSource(string path, TimeProvider time) : IBearerTokenSource
{
    public static readonly TimeSpan Period = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private string? _token;
    private DateTimeOffset _readAt;

    public string GetToken()
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (_token is not null && now - _readAt < Period)
            {
                return _token;
            }

            try
            {
                _token = File.ReadAllText(path).Trim();
                _readAt = now;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (_token is null)
                {
                    throw new KubeConfigException($"token file {path}: cannot read: {e.Message}");
                }
            }

            return _token;
        }
    }
}
