using System.Text;

namespace AuditGateway.Policy.Identity;

/// <summary>
/// <c>WWW-Authenticate</c> values for bearer-token challenges (RFC 6750 §3). A missing token gets a bare
/// <c>Bearer</c> challenge (no error code, §3.1); a rejected one <c>error="invalid_token"</c> with the
/// description; an unmet require-claims (a 403) <c>error="insufficient_scope"</c>. RFC 6750 allows only
/// %x20-21 / %x23-5B / %x5D-7E in <c>error_description</c>, so a double quote becomes ', a backslash /, and any
/// other character outside that range (control characters, non-ASCII) becomes ?; this also keeps CR/LF out.
/// </summary>
internal static class WwwAuthenticate
{
    public const int MaxDescriptionLength = 200;

    public static string Build(JwtResult result, string? realm = null)
    {
        if (result.Succeeded)
        {
            throw new ArgumentException("no challenge for an accepted token", nameof(result));
        }

        return result.Reason == JwtFailureReason.Missing
            ? Challenge(realm, null, null)
            : Challenge(realm, "invalid_token", result.Description);
    }

    /// <summary>For a 403 because a require-claims requirement is not met.</summary>
    public static string InsufficientClaims(ClaimRequirement unmet, string? realm = null) =>
        Challenge(realm, "insufficient_scope", $"the token's {unmet.Claim} claim does not contain {unmet.Value}");

    private static string Challenge(string? realm, string? error, string? description)
    {
        var builder = new StringBuilder("Bearer");
        var separator = " ";
        if (realm is not null)
        {
            builder.Append(separator).Append("realm=\"").Append(Clean(realm)).Append('"');
            separator = ", ";
        }

        if (error is not null)
        {
            builder.Append(separator).Append("error=\"").Append(error).Append('"');
            separator = ", ";
        }

        if (description is not null)
        {
            builder.Append(separator).Append("error_description=\"").Append(Clean(description)).Append('"');
        }

        return builder.ToString();
    }

    private static string Clean(string text)
    {
        var length = Math.Min(text.Length, MaxDescriptionLength);
        var builder = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            builder.Append(text[i] switch
            {
                '"' => '\'',
                '\\' => '/',
                >= ' ' and <= '~' => text[i],
                _ => '?',
            });
        }

        return builder.ToString();
    }
}
