namespace AuditGateway.Policy;

/// <summary><c>policy.probeDetection</c> (docs/configuration.md), with its defaults.</summary>
internal sealed record ProbeDetectionOptions
{
    public static readonly IReadOnlyList<string> DefaultPaths =
        ["/.env", "/.git/", "/wp-login.php", "/wp-admin", "/phpmyadmin", "/.aws/", "/actuator", "/server-status", "/cgi-bin/"];

    public static ProbeDetectionOptions Default { get; } = new();

    public bool Enabled { get; init; } = true;

    /// <summary>Path prefixes (case-insensitive) that no legitimate client of this gateway asks for; one request blocks.</summary>
    public IReadOnlyList<string> Paths { get; init; } = DefaultPaths;

    /// <summary>More than this many 401/403/405 responses to one client within a minute blocks it.</summary>
    public int MaxDeniedPerMinute { get; init; } = 20;

    /// <summary>More than this many 404 or route-less requests from one client within a minute blocks it.</summary>
    public int MaxNotFoundPerMinute { get; init; } = 50;

    public TimeSpan BlockFor { get; init; } = TimeSpan.FromMinutes(15);

    public bool Equals(ProbeDetectionOptions? other) =>
        other is not null
        && Enabled == other.Enabled
        && Paths.SequenceEqual(other.Paths, StringComparer.Ordinal)
        && MaxDeniedPerMinute == other.MaxDeniedPerMinute
        && MaxNotFoundPerMinute == other.MaxNotFoundPerMinute
        && BlockFor == other.BlockFor;

    public override int GetHashCode() => HashCode.Combine(Enabled, Paths.Count, MaxDeniedPerMinute, MaxNotFoundPerMinute, BlockFor);
}
