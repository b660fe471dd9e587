using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using AuditGateway.Configuration;

namespace AuditGateway.Hosting;

/// <summary>
/// The YAML configuration file (docs/configuration.md). The <c>run</c> options may also be set at its
/// top level (<c>manifests</c>, <c>http</c>, …; the admin listener is <c>admin.listen</c>).
/// Unknown keys are errors: a typo must not silently change behaviour.
/// </summary>
internal sealed record ConfigFile
{
    public string? Manifests { get; init; }

    public string? Kubeconfig { get; init; }

    public string? Data { get; init; }

    public string? Http { get; init; }

    public string? Https { get; init; }

    public string? IngressClass { get; init; }

    public string? ControllerName { get; init; }

    public bool? WatchIngressWithoutClass { get; init; }

    public string? PublishService { get; init; }

    public string? PublishAddress { get; init; }

    public string? ElectionId { get; init; }

    public string? Namespace { get; init; }

    public AdminSection? Admin { get; init; }

    public JsonElement? Identity { get; init; }

    public JsonElement? Policy { get; init; }

    public AuditSection? Audit { get; init; }

    public Redis.RedisSection? Redis { get; init; }

    public TelemetrySection? Telemetry { get; init; }

    public static ConfigFile Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OptionException($"--config '{path}': cannot read: {e.Message}");
        }

        JsonNode? root;
        try
        {
            var documents = YamlDocuments.Parse(text);
            root = documents.Count == 0 ? null : documents[0].Root;
        }
        catch (YamlSyntaxException e)
        {
            throw new OptionException($"--config {path}:{e.Line}:{e.Column}: YAML syntax error: {e.Message}");
        }

        if (root is null)
        {
            return new ConfigFile();
        }

        try
        {
            return root.Deserialize(ConfigFileJsonContext.Default.ConfigFile) ?? new ConfigFile();
        }
        catch (JsonException e)
        {
            var field = e.Path?.TrimStart('$', '.') ?? "";
            var reason = e.Message.Contains("could not be mapped", StringComparison.Ordinal) ? "unknown key" : "invalid value";
            throw new OptionException($"--config {path}: {reason} at '{field}': {e.Message.Split(" Path:")[0]}");
        }
    }
}

internal sealed record AuditSection
{
    public string? FlushInterval { get; init; }

    public string? CheckpointInterval { get; init; }

    /// <summary>PEM PKCS#8 ECDSA P-256 signing key; relative to the config file's directory.</summary>
    public string? SigningKey { get; init; }

    /// <summary><c>auto</c> (default) or <c>dotnet</c>: .NET's SHA-256 only (FIPS deployments).</summary>
    public string? Sha256 { get; init; }

    public IReadOnlyList<string>? RedactQueryParams { get; init; }

    /// <summary><c>reject</c> (default): 503 while the log cannot be written; <c>serve</c>: forward unaudited (counted).</summary>
    public string? OnWriteFailure { get; init; }

    /// <summary>A size (<c>256MiB</c>): a segment is sealed when it reaches it.</summary>
    public string? SegmentSize { get; init; }

    /// <summary>A duration (<c>1h</c>): a segment is sealed when its first entry is this old.</summary>
    public string? SegmentAge { get; init; }

    public ArchiveSection? Archive { get; init; }

    public RetainSection? Retain { get; init; }
}

/// <summary>The <c>telemetry:</c> section (docs/metrics.md).</summary>
internal sealed record TelemetrySection
{
    /// <summary>The OTLP collector, e.g. <c>http://127.0.0.1:4317</c>; empty: no OTLP export, no spans.</summary>
    public string? OtlpEndpoint { get; init; }

    /// <summary><c>grpc</c> (default) or <c>http/protobuf</c>.</summary>
    public string? OtlpProtocol { get; init; }

    public double? TraceSampleRatio { get; init; }

    public int? MaxSeriesPerMetric { get; init; }
}

internal sealed record ArchiveSection
{
    /// <summary>Where sealed segments and their checkpoints are copied; empty = no archive.</summary>
    public string? Dir { get; init; }
}

internal sealed record RetainSection
{
    /// <summary>A duration: local sealed segments older than it are pruned; empty = keep all.</summary>
    public string? MaxAge { get; init; }
}

internal sealed record AdminSection
{
    /// <summary>The admin listener, HOST:PORT.</summary>
    public string? Listen { get; init; }

    public JsonElement? Tokens { get; init; }

    public string? AuditorRole { get; init; }

    public string? OperatorRole { get; init; }

    /// <summary>Serve the admin listener over HTTPS (needed for the admission webhook).</summary>
    public AdminTlsSection? Tls { get; init; }

    /// <summary>
    /// Hex SHA-256 of the bearer token the apiserver's audit webhook kubeconfig sends to
    /// <c>/k8s/audit</c>; when absent, any admin token or JWT is accepted there.
    /// </summary>
    public string? AuditWebhookToken { get; init; }
}

internal sealed record AdminTlsSection
{
    /// <summary>PEM certificate (chain); relative to the config file's directory.</summary>
    public string? CertFile { get; init; }

    /// <summary>PEM private key; relative to the config file's directory.</summary>
    public string? KeyFile { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(ConfigFile))]
internal sealed partial class ConfigFileJsonContext : JsonSerializerContext;
