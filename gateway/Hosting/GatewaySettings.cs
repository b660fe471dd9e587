using System.Security.Cryptography;
using System.Text;
using AuditGateway.Audit;
using AuditGateway.Audit.Hashing;
using AuditGateway.Configuration;
using AuditGateway.Policy;
using AuditGateway.Policy.Identity;
using AuditGateway.Redis;
using AuditGateway.Telemetry;

namespace AuditGateway.Hosting;

/// <summary>
/// The configuration file's sections (docs/configuration.md), parsed and checked at start-up: any
/// error stops start-up with a line naming the key.
/// </summary>
internal sealed record GatewaySettings(
    PolicyOptions Policy,
    JwtOptions Jwt,
    AdminOptions Admin,
    AuditOptions Audit,
    IReadOnlyList<string> RedactQueryParams,
    TelemetryOptions Telemetry,
    RedisOptions Redis)
{
    public static readonly IReadOnlyList<string> DefaultRedactQueryParams =
        ["token", "access_token", "id_token", "password", "secret", "api_key", "apikey", "code", "signature", "sig"];

    /// <summary>Where a generated admin token is written when none is configured.</summary>
    public const string GeneratedAdminTokenFile = "keys/admin.token";

    public static GatewaySettings Parse(GatewayOptions options, TimeProvider time)
    {
        var file = options.File;
        var configDirectory = options.Config is null ? Directory.GetCurrentDirectory() : Path.GetDirectoryName(Path.GetFullPath(options.Config))!;
        try
        {
            var policy = PolicyOptions.Parse(file.Policy, file.Identity);
            var jwt = JwtOptions.Parse(file.Identity, configDirectory);
            var admin = AdminOptions.Parse(file.Admin?.Tokens, file.Admin?.AuditorRole, file.Admin?.OperatorRole);
            var section = file.Audit ?? new AuditSection();
            var audit = new AuditOptions
            {
                DataDirectory = Path.GetFullPath(options.Data),
                NodeId = options.Node,
                FlushInterval = Duration("audit.flushInterval", section.FlushInterval) ?? TimeSpan.FromMilliseconds(50),
                CheckpointInterval = Duration("audit.checkpointInterval", section.CheckpointInterval) ?? TimeSpan.FromSeconds(1),
                Sha256 = Sha256("audit.sha256", section.Sha256),
                OnWriteFailure = OnWriteFailure("audit.onWriteFailure", section.OnWriteFailure),
                SegmentMaxBytes = Size("audit.segmentSize", section.SegmentSize) ?? AuditOptions.DefaultSegmentBytes,
                SegmentMaxAge = Duration("audit.segmentAge", section.SegmentAge) ?? AuditOptions.DefaultSegmentAge,
                ArchiveDirectory = string.IsNullOrWhiteSpace(section.Archive?.Dir) ? null : Path.GetFullPath(Path.Combine(configDirectory, section.Archive.Dir)),
                RetainMaxAge = string.IsNullOrWhiteSpace(section.Retain?.MaxAge) ? null : Duration("audit.retain.maxAge", section.Retain.MaxAge),
                Version = typeof(GatewaySettings).Assembly.GetName().Version?.ToString(),
                TimeProvider = time,
            };
            if (section.SigningKey is { } key)
            {
                audit = audit with { SigningKeyPath = Path.Combine(configDirectory, key) };
            }

            if (audit.Validate() is { Count: > 0 } errors)
            {
                throw new OptionException(string.Join("; ", errors));
            }

            var t = file.Telemetry;
            var telemetry = TelemetryOptions.Parse(t?.OtlpEndpoint, t?.OtlpProtocol, t?.TraceSampleRatio, t?.MaxSeriesPerMetric);
            var redis = RedisOptions.Parse(file.Redis, configDirectory);
            return new GatewaySettings(policy, jwt, admin, audit, section.RedactQueryParams ?? DefaultRedactQueryParams, telemetry, redis);
        }
        catch (IdentityConfigException e)
        {
            throw new OptionException($"--config {options.Config}: {e.Message}");
        }
        catch (OptionException e) when (options.Config is not null && !e.Message.StartsWith("--", StringComparison.Ordinal))
        {
            throw new OptionException($"--config {options.Config}: {e.Message}");
        }
    }

    /// <summary>
    /// With no admin token and no JWT issuer configured, the admin API would be unusable: a
    /// random operator token is generated into <c>--data/keys/admin.token</c> (mode 0600) once
    /// and reused; the caller logs where it is.
    /// </summary>
    public GatewaySettings WithGeneratedAdminToken(out string? tokenPath)
    {
        tokenPath = null;
        if (Admin.Tokens.Count > 0 || Jwt.Issuers.Count > 0)
        {
            return this;
        }

        tokenPath = Path.Combine(Audit.DataDirectory, GeneratedAdminTokenFile);
        string text;
        try
        {
            // Empty: torn by a full disk before writes became whole; generate it again.
            if (!File.Exists(tokenPath) || new FileInfo(tokenPath).Length == 0)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(tokenPath)!);
                var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
                var partial = tokenPath + ".partial";
                File.WriteAllText(partial, token + "\n");
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(partial, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }

                File.Move(partial, tokenPath, overwrite: true);
            }

            text = File.ReadAllText(tokenPath).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(tokenPath + ".partial");
            throw new OptionException($"--data {Audit.DataDirectory}: cannot write the generated admin token {GeneratedAdminTokenFile}: {e.Message} (configure admin.tokens, or give the gateway a writable data directory)");
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        return this with { Admin = Admin with { Tokens = [new AdminToken("generated-admin", AdminRole.Operator, hash)] } };
    }

    private static TimeSpan? Duration(string key, string? text)
    {
        if (text is null)
        {
            return null;
        }

        return DurationParser.TryParse(text, out var value, out var error) ? value : throw new OptionException($"{key}: {error}");
    }

    private static long? Size(string key, string? text)
    {
        if (text is null)
        {
            return null;
        }

        return SizeParser.TryParse(text, out var value, out var error) ? value : throw new OptionException($"{key}: {error}");
    }

    private static WriteFailureMode OnWriteFailure(string key, string? text) => text switch
    {
        null or "reject" => WriteFailureMode.Reject,
        "serve" => WriteFailureMode.Serve,
        _ => throw new OptionException($"{key} '{text}': expected reject (503 while the log cannot be written) or serve (forward unaudited, counted)"),
    };

    private static Sha256Choice Sha256(string key, string? text) => text is null ? Sha256Choice.Auto
        : Sha256Choices.TryParse(text, out var choice) ? choice
        : throw new OptionException($"{key} '{text}': expected {Sha256Choices.Expected}");
}
