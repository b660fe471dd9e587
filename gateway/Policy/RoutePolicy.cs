using System.Text.Json.Serialization;
using AuditGateway.Policy.Identity;

namespace AuditGateway.Policy;

/// <summary>The per-Ingress policy read from annotations (docs/annotations.md). Null members are unset.</summary>
internal sealed record RoutePolicy
{
    public IReadOnlyList<string>? AllowSourceRange { get; init; }

    public IReadOnlyList<string>? DenySourceRange { get; init; }

    /// <summary><see cref="AllowSourceRange"/>, compiled for lookups.</summary>
    [JsonIgnore]
    public IpRangeSet? AllowSet { get; init; }

    /// <summary><see cref="DenySourceRange"/>, compiled for lookups.</summary>
    [JsonIgnore]
    public IpRangeSet? DenySet { get; init; }

    /// <summary>Unset means the configured default.</summary>
    public AuthMode? Auth { get; init; }

    public IReadOnlyList<ClaimRequirement>? RequireClaims { get; init; }

    public IReadOnlyList<string>? AllowedMethods { get; init; }

    public RateLimit? RateLimit { get; init; }

    public PolicyMode? PolicyMode { get; init; }

    public IReadOnlyList<string>? RedactQuery { get; init; }
}

/// <summary>A token bucket: <c>Requests</c> per <c>PeriodSeconds</c>, counted per client or identity.</summary>
internal sealed record RateLimit(int Requests, int PeriodSeconds, RateLimitKey By);
