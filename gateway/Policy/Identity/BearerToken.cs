namespace AuditGateway.Policy.Identity;

/// <summary>Reads the credential of <c>Authorization: Bearer &lt;token&gt;</c> (RFC 6750 §2.1; the scheme is case-insensitive).</summary>
internal static class BearerToken
{
    /// <summary>False when the header is absent, blank, or of another scheme.</summary>
    public static bool TryRead(string? authorizationHeader, out string token)
    {
        token = "";
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

        token = header[(space + 1)..].TrimStart().ToString();
        return true;
    }
}
