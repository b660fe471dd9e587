using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace AuditGateway.Policy.Identity;

/// <summary>
/// <c>identity.jwt</c> (docs/configuration.md): the trusted issuers, the claims recorded in the audit log,
/// and the allowed clock skew. Equality is by value so "did anything change?" is cheap and right.
/// </summary>
internal sealed record JwtOptions
{
    public static readonly IReadOnlyList<string> DefaultAuditClaims = ["sub", "iss", "aud", "azp", "client_id", "scope", "roles"];

    public static readonly TimeSpan DefaultClockSkew = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    public static readonly JwtOptions None = new();

    public IReadOnlyList<JwtIssuerOptions> Issuers { get; init; } = [];

    public IReadOnlyList<string> AuditClaims { get; init; } = DefaultAuditClaims;

    public TimeSpan ClockSkew { get; init; } = DefaultClockSkew;

    /// <summary>Parses the <c>identity</c> section; relative <c>keysFile</c> paths are resolved against <paramref name="configDir"/>
    /// and the files are read now, so a bad key file is a start-up error.</summary>
    /// <exception cref="IdentityConfigException">with a message naming the offending key.</exception>
    public static JwtOptions Parse(JsonElement? identitySection, string configDir)
    {
        if (identitySection is not { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } identity)
        {
            return None;
        }

        ConfigReader.RequireObject(identity, "identity");
        ConfigReader.RejectUnknownKeys(identity, "identity", "jwt", "trustedProxies");
        if (ConfigReader.Optional(identity, "jwt") is not { } jwt)
        {
            return None;
        }

        const string path = "identity.jwt";
        ConfigReader.RequireObject(jwt, path);
        ConfigReader.RejectUnknownKeys(jwt, path, "issuers", "auditClaims", "clockSkew");

        if (ConfigReader.Optional(jwt, "issuers") is not { ValueKind: JsonValueKind.Array } issuersElement || issuersElement.GetArrayLength() == 0)
        {
            throw new IdentityConfigException($"{path}.issuers: required (a list of issuers)");
        }

        var issuers = new List<JwtIssuerOptions>();
        var index = 0;
        foreach (var item in issuersElement.EnumerateArray())
        {
            var issuer = JwtIssuerOptions.Parse(item, $"{path}.issuers[{index}]", configDir);
            if (issuers.Exists(i => i.Issuer == issuer.Issuer))
            {
                throw new IdentityConfigException($"{path}.issuers[{index}].issuer: '{issuer.Issuer}' is listed twice");
            }

            issuers.Add(issuer);
            index++;
        }

        return new JwtOptions
        {
            Issuers = issuers,
            AuditClaims = ConfigReader.OptionalStringList(jwt, "auditClaims", path) ?? DefaultAuditClaims,
            ClockSkew = ParseClockSkew(ConfigReader.Optional(jwt, "clockSkew"), path + ".clockSkew"),
        };
    }

    /// <summary>A number of seconds, or a string <c>&lt;n&gt;ms</c>, <c>&lt;n&gt;s</c> or <c>&lt;n&gt;m</c>; at most five minutes.</summary>
    private static TimeSpan ParseClockSkew(JsonElement? value, string key)
    {
        if (value is not { } element)
        {
            return DefaultClockSkew;
        }

        TimeSpan? skew = element.ValueKind switch
        {
            JsonValueKind.Number when element.TryGetDouble(out var seconds) && double.IsFinite(seconds) => TimeSpan.FromSeconds(Math.Clamp(seconds, -1, 1e6)),
            JsonValueKind.String => ParseDuration(element.GetString()!.Trim()),
            _ => null,
        };

        return skew switch
        {
            null => throw new IdentityConfigException($"{key}: expected a duration such as 30s, 2m or 500ms"),
            { } s when s < TimeSpan.Zero => throw new IdentityConfigException($"{key}: must not be negative"),
            { } s when s > MaxClockSkew => throw new IdentityConfigException($"{key}: at most {MaxClockSkew.TotalMinutes:0}m"),
            { } s => s,
        };
    }

    private static TimeSpan? ParseDuration(string text)
    {
        var (digits, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : text.EndsWith('m') ? (text[..^1], 60.0)
            : (text, 1.0);
        return double.TryParse(digits, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) && n <= 1e6
            ? TimeSpan.FromSeconds(n * unit)
            : null;
    }

    public bool Equals(JwtOptions? other) =>
        other is not null
        && ClockSkew == other.ClockSkew
        && Issuers.SequenceEqual(other.Issuers)
        && AuditClaims.SequenceEqual(other.AuditClaims);

    public override int GetHashCode() => HashCode.Combine(ClockSkew, Issuers.Count, AuditClaims.Count);
}

/// <summary>One trusted issuer: its exact <c>iss</c> value, the audiences accepted for it, and where its keys come from.</summary>
internal sealed record JwtIssuerOptions
{
    public required string Issuer { get; init; }

    public required IReadOnlyList<string> Audiences { get; init; }

    /// <summary>Fetched, cached and refreshed; https, or http only to a loopback address.</summary>
    public Uri? JwksUri { get; init; }

    /// <summary>The absolute path of an offline JWKS or PEM file.</summary>
    public string? KeysFile { get; init; }

    /// <summary>The keys read from <see cref="KeysFile"/> when the options were parsed.</summary>
    public IReadOnlyList<SecurityKey> FileKeys { get; init; } = [];

    /// <summary>What <see cref="KeysFile"/> held that the gateway cannot use, for one log line each at start.</summary>
    public IReadOnlyList<string> SkippedFileKeys { get; init; } = [];

    /// <summary>Hex SHA-256 of the keys file's bytes, so a changed file makes unequal options.</summary>
    public string? KeysFileSha256 { get; init; }

    internal static JwtIssuerOptions Parse(JsonElement element, string path, string configDir)
    {
        ConfigReader.RequireObject(element, path);
        ConfigReader.RejectUnknownKeys(element, path, "issuer", "audiences", "jwksUri", "keysFile");

        var issuer = ConfigReader.RequiredString(element, "issuer", path);
        var audiences = ConfigReader.OptionalStringList(element, "audiences", path);
        if (audiences is not { Count: > 0 })
        {
            throw new IdentityConfigException($"{path}.audiences: required");
        }

        var jwksText = ConfigReader.OptionalString(element, "jwksUri", path);
        var keysFile = ConfigReader.OptionalString(element, "keysFile", path);
        if ((jwksText is null) == (keysFile is null))
        {
            throw new IdentityConfigException($"{path}: exactly one of jwksUri or keysFile is required");
        }

        if (jwksText is not null)
        {
            return new JwtIssuerOptions { Issuer = issuer, Audiences = audiences, JwksUri = ParseJwksUri(jwksText, path + ".jwksUri") };
        }

        var full = Path.GetFullPath(keysFile!, configDir);
        try
        {
            var bytes = File.ReadAllBytes(full);
            var skipped = new List<string>();
            var keys = KeyMaterial.Parse(Encoding.UTF8.GetString(bytes), skipped);
            return new JwtIssuerOptions
            {
                Issuer = issuer,
                Audiences = audiences,
                KeysFile = full,
                FileKeys = keys,
                SkippedFileKeys = skipped,
                KeysFileSha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)),
            };
        }
        catch (Exception e) when (e is KeyMaterialException or IOException or UnauthorizedAccessException)
        {
            throw new IdentityConfigException($"{path}.keysFile: {full}: {e.Message}");
        }
    }

    private static Uri ParseJwksUri(string text, string key)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            throw new IdentityConfigException($"{key}: not an absolute http(s) URI");
        }

        if (uri.Scheme == Uri.UriSchemeHttp && !uri.IsLoopback)
        {
            throw new IdentityConfigException($"{key}: must be https (plain http is allowed only to a loopback address)");
        }

        return uri;
    }

    public bool Equals(JwtIssuerOptions? other) =>
        other is not null
        && Issuer == other.Issuer
        && Audiences.SequenceEqual(other.Audiences)
        && JwksUri == other.JwksUri
        && KeysFile == other.KeysFile
        && KeysFileSha256 == other.KeysFileSha256;

    public override int GetHashCode() => HashCode.Combine(Issuer, JwksUri, KeysFile, KeysFileSha256);
}
