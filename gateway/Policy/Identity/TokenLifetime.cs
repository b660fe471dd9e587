using System.Globalization;
using System.Text.Json;

namespace AuditGateway.Policy.Identity;

/// <summary>
/// The time claims of a verified payload: <c>exp</c> is required; now must be before <c>exp</c> + skew
/// and not before <c>nbf</c> - skew (RFC 7519 §4.1.4-5).
/// </summary>
internal static class TokenLifetime
{
    /// <summary>The refusal the claims earn at <paramref name="now"/>; null when the token is within its lifetime.</summary>
    public static JwtResult? Problem(Dictionary<string, JsonElement> claims, DateTimeOffset now, TimeSpan skew)
    {
        if (NumericDate(claims, "exp") is not { } expires)
        {
            return JwtResult.Fail(JwtFailureReason.Invalid, "the token has no numeric exp claim");
        }

        var notBefore = NumericDate(claims, "nbf");
        if (claims.ContainsKey("nbf") && notBefore is null)
        {
            return JwtResult.Fail(JwtFailureReason.Invalid, "the token's nbf claim is not a number");
        }

        if (now >= expires + skew)
        {
            return JwtResult.Fail(JwtFailureReason.Expired, $"the token expired at {Timestamp(expires)}");
        }

        if (notBefore is { } nbf && now < nbf - skew)
        {
            return JwtResult.Fail(JwtFailureReason.NotYetValid, $"the token is not valid before {Timestamp(nbf)}");
        }

        return null;
    }

    private static DateTimeOffset? NumericDate(Dictionary<string, JsonElement> claims, string name) =>
        claims.TryGetValue(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var seconds)
            && seconds is >= 0 and < 253402300799
            ? DateTimeOffset.UnixEpoch.AddSeconds(seconds)
            : null;

    private static string Timestamp(DateTimeOffset utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
