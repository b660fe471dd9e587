using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace AuditGateway.ControlPlane.Attribution;

/// <summary>admission.k8s.io/v1 AdmissionReview, request and response.</summary>
internal sealed record AdmissionReview
{
    public string? ApiVersion { get; init; }
    public string? Kind { get; init; }
    public AdmissionRequest? Request { get; init; }
    public AdmissionResponse? Response { get; init; }
}

internal sealed record AdmissionRequest
{
    public string? Uid { get; init; }
    public GroupVersionResource? Resource { get; init; }
    public string? SubResource { get; init; }
    public string? Name { get; init; }
    public string? Namespace { get; init; }

    /// <summary>CREATE, UPDATE, DELETE or CONNECT.</summary>
    public string? Operation { get; init; }

    public UserInfo? UserInfo { get; init; }
    public JsonObject? Object { get; init; }
    public JsonObject? OldObject { get; init; }
    public bool? DryRun { get; init; }
}

internal sealed record GroupVersionResource
{
    public string? Group { get; init; }
    public string? Version { get; init; }
    public string? Resource { get; init; }
}

/// <summary>authentication/v1 UserInfo; <c>extra</c> may be absent, empty or populated.</summary>
internal sealed record UserInfo
{
    public string? Username { get; init; }
    public string? Uid { get; init; }
    public IReadOnlyList<string>? Groups { get; init; }
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Extra { get; init; }
}

internal sealed record AdmissionResponse
{
    public required string Uid { get; init; }
    public required bool Allowed { get; init; }
    public AdmissionStatus? Status { get; init; }
    public IReadOnlyList<string>? Warnings { get; init; }
}

internal sealed record AdmissionStatus
{
    public int Code { get; init; }
    public string? Reason { get; init; }
    public string? Message { get; init; }
}

/// <summary>audit.k8s.io/v1 EventList; items inside carry no kind/apiVersion.</summary>
internal sealed record AuditEventList
{
    public string? ApiVersion { get; init; }
    public string? Kind { get; init; }
    public IReadOnlyList<AuditEvent>? Items { get; init; }
}

/// <summary>The fields of an audit.k8s.io/v1 Event this gateway reads (unknown fields are ignored).</summary>
internal sealed record AuditEvent
{
    public string? Kind { get; init; }
    public string? ApiVersion { get; init; }
    public string? Level { get; init; }
    public string? AuditID { get; init; }
    public string? Stage { get; init; }
    public string? RequestURI { get; init; }
    public string? Verb { get; init; }
    public UserInfo? User { get; init; }
    public UserInfo? ImpersonatedUser { get; init; }
    public IReadOnlyList<string>? SourceIPs { get; init; }
    public string? UserAgent { get; init; }
    public AuditObjectRef? ObjectRef { get; init; }
    public AuditResponseStatus? ResponseStatus { get; init; }
    public JsonObject? ResponseObject { get; init; }
    public DateTimeOffset? RequestReceivedTimestamp { get; init; }
    public DateTimeOffset? StageTimestamp { get; init; }
}

internal sealed record AuditObjectRef
{
    public string? Resource { get; init; }
    public string? Namespace { get; init; }
    public string? Name { get; init; }
    public string? Uid { get; init; }
    public string? ApiGroup { get; init; }
    public string? ApiVersion { get; init; }
    public string? ResourceVersion { get; init; }
    public string? Subresource { get; init; }
}

internal sealed record AuditResponseStatus
{
    public int? Code { get; init; }
    public string? Status { get; init; }
    public string? Message { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AdmissionReview))]
[JsonSerializable(typeof(AuditEventList))]
[JsonSerializable(typeof(AuditEvent))]
internal sealed partial class WebhookJsonContext : JsonSerializerContext;
