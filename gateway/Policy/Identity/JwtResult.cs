using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using AuditGateway.Audit.Entries;

namespace AuditGateway.Policy.Identity;

/// <summary>Why a request's bearer token was not accepted. <see cref="JwtFailures.Code"/> gives the audit/metric code.</summary>
internal enum JwtFailureReason
{
    /// <summary>No Authorization header, or not a Bearer credential (RFC 6750 §3.1: no error code).</summary>
    Missing,
    Malformed,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    BadSignature,
    UnknownKey,
    AlgNone,
    UnsupportedAlg,

    /// <summary>The issuer's keys could never be loaded (JWKS unreachable since start-up).</summary>
    KeysUnavailable,

    /// <summary>Rejected for another reason the validator gave (e.g. a missing <c>exp</c>).</summary>
    Invalid,
}

internal static class JwtFailures
{
    /// <summary>Stable machine code: <c>missing</c>, <c>malformed</c>, <c>expired</c>, <c>not-yet-valid</c>, <c>wrong-issuer</c>,
    /// <c>wrong-audience</c>, <c>bad-signature</c>, <c>unknown-key</c>, <c>alg-none</c>, <c>unsupported-alg</c>,
    /// <c>keys-unavailable</c>, <c>invalid</c>.</summary>
    public static string Code(this JwtFailureReason reason) => reason switch
    {
        JwtFailureReason.Missing => "missing",
        JwtFailureReason.Malformed => "malformed",
        JwtFailureReason.Expired => "expired",
        JwtFailureReason.NotYetValid => "not-yet-valid",
        JwtFailureReason.WrongIssuer => "wrong-issuer",
        JwtFailureReason.WrongAudience => "wrong-audience",
        JwtFailureReason.BadSignature => "bad-signature",
        JwtFailureReason.UnknownKey => "unknown-key",
        JwtFailureReason.AlgNone => "alg-none",
        JwtFailureReason.UnsupportedAlg => "unsupported-alg",
        JwtFailureReason.KeysUnavailable => "keys-unavailable",
        _ => "invalid",
    };
}

/// <summary>
/// Who a validated token says the caller is, as recorded in the audit log (docs/audit-log.md). Never holds the token.
/// <see cref="Claims"/> has only the configured audit claims that the token carries, each flattened to a string:
/// a string as is; an array as its elements joined with one space (non-string elements as compact JSON);
/// a number or boolean as its JSON text; an object as compact JSON. Values are cut at
/// <see cref="MaxClaimLength"/> characters (ending in "…").
/// </summary>
internal sealed record CallerIdentity(
    string? Subject,
    string Issuer,
    string Audience,
    string? ClientId,
    IReadOnlyDictionary<string, string> Claims)
{
    public const int MaxClaimLength = 1024;

    /// <summary>
    /// The identity as request entries record it (<see cref="Claims"/> with each value a one-element list), built
    /// once: a remembered token's identity is shared by every request that presents it, and the log writer
    /// encodes a shared instance once.
    /// </summary>
    public RequestIdentity AuditIdentity { get; } = new()
    {
        Authenticated = true,
        Subject = Subject,
        Issuer = Issuer,
        Audience = Audience,
        ClientId = ClientId,
        Claims = Claims.ToDictionary(c => c.Key, c => (IReadOnlyList<string>)[c.Value], StringComparer.Ordinal),
    };

    public bool Equals(CallerIdentity? other) =>
        other is not null
        && Subject == other.Subject && Issuer == other.Issuer && Audience == other.Audience && ClientId == other.ClientId
        && Claims.Count == other.Claims.Count
        && Claims.All(c => other.Claims.TryGetValue(c.Key, out var v) && v == c.Value);

    public override int GetHashCode() => HashCode.Combine(Subject, Issuer, Audience, ClientId);
}

/// <summary>
/// The outcome of <see cref="JwtAuthenticator.AuthenticateAsync"/>: a <see cref="CallerIdentity"/> and the token's full
/// claim set (for require-claims; not for the log), or a failure reason with a human description.
/// </summary>
internal sealed class JwtResult
{
    private JwtResult(CallerIdentity? identity, IReadOnlyDictionary<string, JsonElement>? claims, JwtFailureReason reason, string description)
    {
        Identity = identity;
        Claims = claims;
        Reason = reason;
        Description = description;
    }

    [MemberNotNullWhen(true, nameof(Identity), nameof(Claims))]
    public bool Succeeded => Identity is not null;

    public CallerIdentity? Identity { get; }

    /// <summary>Every top-level claim of the validated payload, by name.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Claims { get; }

    /// <summary>Meaningful only when not <see cref="Succeeded"/>.</summary>
    public JwtFailureReason Reason { get; }

    /// <summary>"authenticated" on success; otherwise why not, safe to send to the client (no token material).</summary>
    public string Description { get; }

    /// <summary>The machine code for the audit log: <c>ok</c> or the failure code.</summary>
    public string Code => Succeeded ? "ok" : Reason.Code();

    public static JwtResult Success(CallerIdentity identity, IReadOnlyDictionary<string, JsonElement> claims) =>
        new(identity, claims, default, "authenticated");

    public static JwtResult Fail(JwtFailureReason reason, string description) => new(null, null, reason, description);

    public override string ToString() => Succeeded ? $"ok ({Identity.Subject})" : $"{Code}: {Description}";
}
