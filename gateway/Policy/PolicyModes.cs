using System.Text.Json.Serialization;

namespace AuditGateway.Policy;

/// <summary>Whether a route asks for a validated JWT (<c>auth</c> annotation, <c>policy.defaultAuth</c>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AuthMode>))]
internal enum AuthMode
{
    [JsonStringEnumMemberName("none")] None,
    [JsonStringEnumMemberName("jwt")] Jwt,
}

/// <summary>Whether a route's denials are enforced or only recorded as <c>would-deny</c> (<c>policy-mode</c> annotation).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PolicyMode>))]
internal enum PolicyMode
{
    [JsonStringEnumMemberName("enforce")] Enforce,
    [JsonStringEnumMemberName("report-only")] ReportOnly,
}

/// <summary>What a rate limit counts by (<c>;by=</c> of the <c>rate-limit</c> annotation).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RateLimitKey>))]
internal enum RateLimitKey
{
    [JsonStringEnumMemberName("client")] Client,
    [JsonStringEnumMemberName("identity")] Identity,
}
