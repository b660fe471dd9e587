using AuditGateway.Policy.Identity;

namespace AuditGateway.Policy;

/// <summary>What the policy decided: <c>allow</c>, <c>deny</c>, or <c>would-deny</c> (report-only).</summary>
internal enum DecisionOutcome
{
    Allow,
    Deny,
    WouldDeny,
}

/// <summary>
/// A policy decision with the rule that made it (<c>namespace/ingress:annotation[:detail]</c>,
/// <c>config:policy.denySourceRange:…</c>, <c>probe-block</c>) and, for a denial, the status and
/// response headers the client gets.
/// </summary>
internal sealed record PolicyDecision(DecisionOutcome Outcome, string? Rule, string? Reason)
{
    public static readonly PolicyDecision Allowed = new(DecisionOutcome.Allow, null, null);

    public int Status { get; init; }

    /// <summary>A header to send with the denial: <c>WWW-Authenticate</c>, <c>Allow</c> or <c>Retry-After</c>.</summary>
    public KeyValuePair<string, string>? Header { get; init; }

    /// <summary>The validated caller, when the route asked for a JWT and it was good.</summary>
    public CallerIdentity? Identity { get; init; }

    public bool Denies => Outcome == DecisionOutcome.Deny;

    public static PolicyDecision Deny(int status, string rule, string reason) =>
        new(DecisionOutcome.Deny, rule, reason) { Status = status };
}
