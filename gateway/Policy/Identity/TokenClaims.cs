using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AuditGateway.Policy.Identity;

/// <summary>
/// Reads a verified token's payload into its claims, and from them the <see cref="CallerIdentity"/>
/// the audit entry records: subject, issuer, audience, client and the configured audit claims.
/// </summary>
internal static class TokenClaims
{
    /// <summary>The payload's top-level claims. Duplicate names are refused: two parsers could disagree on which wins.</summary>
    /// <exception cref="JsonException">The payload is not a JSON object with unique claim names.</exception>
    public static Dictionary<string, JsonElement> Read(string encodedPayload)
    {
        using var document = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(encodedPayload));
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("payload is not an object");
        }

        var root = document.RootElement.Clone();
        var claims = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            if (!claims.TryAdd(property.Name, property.Value))
            {
                throw new JsonException("duplicate claim");
            }
        }

        return claims;
    }

    /// <summary>Who the token says the caller is; <paramref name="auditClaims"/> are copied, flattened, for the log.</summary>
    public static CallerIdentity Identity(
        JsonWebToken jwt, Dictionary<string, JsonElement> claims, JwtIssuerOptions issuer, IReadOnlyList<string> auditClaims)
    {
        var audience = issuer.Audiences.First(a => jwt.Audiences.Contains(a, StringComparer.Ordinal));
        var audit = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in auditClaims)
        {
            if (claims.TryGetValue(name, out var value))
            {
                audit[name] = ClaimText.Flatten(value, CallerIdentity.MaxClaimLength);
            }
        }

        return new CallerIdentity(
            StringClaim(claims, "sub"),
            issuer.Issuer,
            audience,
            StringClaim(claims, "azp") ?? StringClaim(claims, "client_id"),
            audit);
    }

    private static string? StringClaim(Dictionary<string, JsonElement> claims, string name) =>
        claims.TryGetValue(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
