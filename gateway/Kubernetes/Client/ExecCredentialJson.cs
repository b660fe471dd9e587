using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace AuditGateway.Kubernetes.Client;

/// <summary>
/// <c>client.authentication.k8s.io</c> ExecCredential (v1 and v1beta1 have the same shape): the
/// request in <c>KUBERNETES_EXEC_INFO</c> carries <see cref="Spec"/>, the plugin's answer on
/// stdout carries <see cref="Status"/>.
/// </summary>
internal sealed record ExecCredential
{
    public const string KindName = "ExecCredential";

    public string? Kind { get; init; }
    public string? ApiVersion { get; init; }
    public ExecCredentialSpec? Spec { get; init; }
    public ExecCredentialStatus? Status { get; init; }
}

internal sealed record ExecCredentialSpec
{
    /// <summary>Always written, always false: the gateway never gives the plugin a terminal.</summary>
    public bool Interactive { get; init; }

    /// <summary>Set when the kubeconfig asks for <c>provideClusterInfo</c>.</summary>
    public ExecCluster? Cluster { get; init; }
}

/// <summary>Never logged: it holds the credential.</summary>
internal sealed record ExecCredentialStatus
{
    public string? Token { get; init; }
    public string? ClientCertificateData { get; init; }
    public string? ClientKeyData { get; init; }
    public DateTimeOffset? ExpirationTimestamp { get; init; }
}

/// <summary>The kubeconfig cluster as the plugin sees it (field names as in the kubeconfig; the CA always as data).</summary>
internal sealed record ExecCluster
{
    [JsonPropertyName("server")]
    public required string Server { get; init; }

    [JsonPropertyName("tls-server-name")]
    public string? TlsServerName { get; init; }

    [JsonPropertyName("insecure-skip-tls-verify")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool InsecureSkipTlsVerify { get; init; }

    [JsonPropertyName("certificate-authority-data")]
    public byte[]? CertificateAuthorityData { get; init; }

    [JsonPropertyName("proxy-url")]
    public string? ProxyUrl { get; init; }

    [JsonPropertyName("disable-compression")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool DisableCompression { get; init; }

    /// <summary>The cluster's <c>client.authentication.k8s.io/exec</c> extension, passed through.</summary>
    [JsonPropertyName("config")]
    public JsonNode? Config { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ExecCredential))]
internal sealed partial class ExecCredentialJsonContext : JsonSerializerContext;
