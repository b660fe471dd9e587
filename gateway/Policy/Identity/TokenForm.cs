using System.Buffers;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;

namespace AuditGateway.Policy.Identity;

/// <summary>
/// The form a token must have before any key is tried: its length, base64url characters and compact
/// JWS shape, then a header with an accepted <c>alg</c> (never <c>none</c>) and no <c>crit</c>.
/// </summary>
internal static class TokenForm
{
    private static readonly SearchValues<char> TokenChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");

    /// <summary>What is wrong with the token's text, before parsing; null when nothing is.</summary>
    public static string? ShapeProblem(string token)
    {
        if (token.Length == 0)
        {
            return "empty bearer token";
        }

        if (token.Length > JwtAuthenticator.MaxTokenLength)
        {
            return $"the token is longer than {JwtAuthenticator.MaxTokenLength} characters";
        }

        if (token.AsSpan().ContainsAnyExcept(TokenChars))
        {
            return "the token has characters outside base64url";
        }

        return token.Count(c => c == '.') switch
        {
            2 => null,
            4 => "encrypted tokens (JWE) are not accepted",
            _ => "the token is not a compact JWS (header.payload.signature)",
        };
    }

    /// <summary>The refusal the parsed header earns; null when it is acceptable.</summary>
    public static JwtResult? HeaderProblem(JsonWebToken jwt)
    {
        var alg = jwt.Alg;
        if (string.IsNullOrEmpty(alg) || alg.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return JwtResult.Fail(JwtFailureReason.AlgNone, "unsigned tokens (alg none) are never accepted");
        }

        if (!JwtAuthenticator.Algorithms.Contains(alg))
        {
            return JwtResult.Fail(JwtFailureReason.UnsupportedAlg, $"alg '{Shorten(alg)}' is not accepted (only {string.Join(", ", JwtAuthenticator.Algorithms)})");
        }

        if (jwt.TryGetHeaderValue<JsonElement>("crit", out _))
        {
            return JwtResult.Fail(JwtFailureReason.Malformed, "critical header parameters (crit) are not supported");
        }

        return null;
    }

    /// <summary>Unvalidated token text echoed in a description is cut short.</summary>
    public static string Shorten(string text) => text.Length <= 100 ? text : text[..100] + "…";
}
