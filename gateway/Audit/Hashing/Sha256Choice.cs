namespace AuditGateway.Audit.Hashing;

/// <summary>Which SHA-256 the log uses (<c>audit.sha256</c>).</summary>
internal enum Sha256Choice
{
    /// <summary>The fastest implementation on this machine that passes the self-test.</summary>
    Auto,

    /// <summary>.NET's only (<see cref="DotNetSha256"/>), for FIPS deployments.</summary>
    DotNet,
}

/// <summary>The configuration file's words for <see cref="Sha256Choice"/>.</summary>
internal static class Sha256Choices
{
    public const string Expected = "auto or dotnet";

    public static bool TryParse(string text, out Sha256Choice choice)
    {
        (var known, choice) = text switch
        {
            "auto" => (true, Sha256Choice.Auto),
            "dotnet" => (true, Sha256Choice.DotNet),
            _ => (false, Sha256Choice.Auto),
        };
        return known;
    }
}
