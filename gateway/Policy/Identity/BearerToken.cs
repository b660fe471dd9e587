namespace AuditGateway.Policy.Identity;

/// <summary>Reads the credential of <c>Authorization: Bearer &lt;token&gt;</c> (RFC 6750 §2.1; the scheme is case-insensitive).</summary>
internal static class BearerToken
{
    /// <summary>False when the header is absent, blank, or of another scheme.</summary>
    public static bool TryRead(string? authorizationHeader, out string token)
    {
        var found = TryRead(authorizationHeader, out ReadOnlySpan<char> span);
        token = found ? span.ToString() : "";
        return found;
    }

    /// <summary>As <see cref="TryRead(string?, out string)"/>, without copying the token.</summary>
    public static bool TryRead(string? authorizationHeader, out ReadOnlySpan<char> token)
    {
        token = default;
        if (string.IsNullOrWhiteSpace(authorizationHeader))
        {
            return false;
        }

        var header = authorizationHeader.AsSpan().Trim();
        var space = header.IndexOf(' ');
        if (space < 0 || !header[..space].Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        token = header[(space + 1)..].TrimStart();
        return true;
    }
}
