using System.Text.Json.Serialization;

namespace AuditGateway.Kubernetes.Models;

/// <summary>meta/v1 Status: the body of an API error, and the object of a watch ERROR event.</summary>
internal sealed record Status
{
    public string? ApiVersion { get; init; }
    public string? Kind { get; init; }
    public ListMeta? Metadata { get; init; }

    /// <summary><c>Success</c> or <c>Failure</c>.</summary>
    [JsonPropertyName("status")]
    public string? Outcome { get; init; }

    public string? Message { get; init; }

    /// <summary>e.g. <c>Expired</c>, <c>Gone</c>, <c>Conflict</c>, <c>NotFound</c>, <c>AlreadyExists</c>.</summary>
    public string? Reason { get; init; }

    public int? Code { get; init; }
}

internal sealed record ListMeta
{
    public string? ResourceVersion { get; init; }
    public string? Continue { get; init; }
    public long? RemainingItemCount { get; init; }
}

/// <summary>Kubernetes time formats: <c>MicroTime</c> (Lease, audit) and <c>Time</c> (metadata, core Event).</summary>
internal static class KubeTime
{
    public static string Micro(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'");

    public static string Seconds(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");
}
