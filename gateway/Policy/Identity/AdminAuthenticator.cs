using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AuditGateway.Policy.Identity;

/// <summary>Admin API roles (docs/admin-api.md). Ordered: an operator is also an auditor.</summary>
internal enum AdminRole
{
    None = 0,
    Auditor = 1,
    Operator = 2,
}

/// <summary>A static admin token: its name (recorded as the actor), its role, and the hex SHA-256 of the token text.</summary>
internal sealed record AdminToken(string Name, AdminRole Role, string Sha256);

/// <summary><c>admin:</c> tokens and the JWT role names that grant admin roles.</summary>
internal sealed record AdminOptions
{
    public IReadOnlyList<AdminToken> Tokens { get; init; } = [];

    /// <summary>A JWT whose <c>roles</c> (or <c>role</c>) claim contains this is an auditor.</summary>
    public string AuditorRole { get; init; } = "auditor";

    /// <summary>A JWT whose <c>roles</c> (or <c>role</c>) claim contains this is an operator.</summary>
    public string OperatorRole { get; init; } = "operator";

    /// <summary>Parses <c>admin.tokens</c> (a list of <c>{name, role, sha256}</c>) and the role names.</summary>
    /// <exception cref="IdentityConfigException">naming the offending key.</exception>
    public static AdminOptions Parse(JsonElement? tokens, string? auditorRole, string? operatorRole)
    {
        var list = new List<AdminToken>();
        if (tokens is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } array)
        {
            if (array.ValueKind != JsonValueKind.Array)
            {
                throw new IdentityConfigException("admin.tokens: must be a list of {name, role, sha256}");
            }

            var index = 0;
            foreach (var item in array.EnumerateArray())
            {
                var path = $"admin.tokens[{index++}]";
                var token = ParseToken(item, path);
                if (list.Exists(t => t.Sha256 == token.Sha256))
                {
                    throw new IdentityConfigException($"{path}.sha256: the same token is listed twice");
                }

                if (list.Exists(t => t.Name == token.Name))
                {
                    throw new IdentityConfigException($"{path}.name: '{token.Name}' is listed twice");
                }

                list.Add(token);
            }
        }

        return new AdminOptions
        {
            Tokens = list,
            AuditorRole = RoleName(auditorRole, "admin.auditorRole") ?? "auditor",
            OperatorRole = RoleName(operatorRole, "admin.operatorRole") ?? "operator",
        };
    }

    private static AdminToken ParseToken(JsonElement item, string path)
    {
        ConfigReader.RequireObject(item, path);
        ConfigReader.RejectUnknownKeys(item, path, "name", "role", "sha256");
        var name = ConfigReader.RequiredString(item, "name", path);
        var role = ConfigReader.RequiredString(item, "role", path) switch
        {
            "auditor" => AdminRole.Auditor,
            "operator" => AdminRole.Operator,
            _ => throw new IdentityConfigException($"{path}.role: must be auditor or operator"),
        };
        var hash = ConfigReader.RequiredString(item, "sha256", path).ToLowerInvariant();
        if (hash.Length != 64 || !hash.All(char.IsAsciiHexDigit))
        {
            throw new IdentityConfigException($"{path}.sha256: must be 64 hex digits (the SHA-256 of the token, e.g. printf %s TOKEN | sha256sum)");
        }

        return new AdminToken(name, role, hash);
    }

    private static string? RoleName(string? value, string key) =>
        value is null ? null : value.Trim().Length > 0 ? value.Trim() : throw new IdentityConfigException($"{key}: must not be empty");

    public bool Equals(AdminOptions? other) =>
        other is not null && AuditorRole == other.AuditorRole && OperatorRole == other.OperatorRole && Tokens.SequenceEqual(other.Tokens);

    public override int GetHashCode() => HashCode.Combine(AuditorRole, OperatorRole, Tokens.Count);
}

/// <summary>How an admin caller proved who they are.</summary>
internal enum AdminCredential
{
    /// <summary>A static bearer token from <c>admin.tokens</c>.</summary>
    Token,

    /// <summary>A JWT from a configured issuer, with the role in its <c>roles</c> or <c>role</c> claim.</summary>
    Jwt,
}

/// <summary>
/// Who called the admin API. <see cref="Name"/> is null when no valid credential was given (a 401, with
/// <see cref="Problem"/> saying why); an authenticated caller with <see cref="AdminRole.None"/> gets a 403.
/// </summary>
internal sealed record AdminPrincipal(string? Name, AdminRole Role, AdminCredential? Via, string? Problem)
{
    public bool IsAuthenticated => Name is not null;

    /// <summary>Operator implies auditor.</summary>
    public bool Has(AdminRole required) => IsAuthenticated && Role >= required;

    public static AdminPrincipal Anonymous(string problem) => new(null, AdminRole.None, null, problem);
}

/// <summary>
/// Authenticates admin API callers: a static bearer token whose SHA-256 is configured (compared in constant
/// time against every configured hash), or a JWT accepted by the identity configuration whose <c>roles</c>
/// or <c>role</c> claim holds the operator or auditor role name.
/// </summary>
internal sealed class AdminAuthenticator
{
    private readonly AdminOptions _options;
    private readonly JwtAuthenticator? _jwt;
    private readonly (AdminToken Token, byte[] Hash)[] _tokens;

    /// <param name="jwt">null when no JWT issuer is configured: only static tokens are accepted.</param>
    public AdminAuthenticator(AdminOptions options, JwtAuthenticator? jwt)
    {
        _options = options;
        _jwt = jwt;
        _tokens = [.. options.Tokens.Select(t => (t, Convert.FromHexString(t.Sha256)))];
    }

    public async ValueTask<AdminPrincipal> AuthenticateAsync(string? authorizationHeader, CancellationToken cancellationToken)
    {
        if (!BearerToken.TryRead(authorizationHeader, out string token) || token.Length == 0)
        {
            return AdminPrincipal.Anonymous("no bearer token");
        }

        if (MatchStatic(token) is { } known)
        {
            return new AdminPrincipal(known.Name, known.Role, AdminCredential.Token, null);
        }

        if (_jwt is null)
        {
            return AdminPrincipal.Anonymous("unknown admin token");
        }

        var result = await _jwt.ValidateTokenAsync(token, cancellationToken);
        if (!result.Succeeded)
        {
            return AdminPrincipal.Anonymous(result.Description);
        }

        var name = result.Identity.Subject ?? result.Identity.ClientId ?? "(no sub)";
        return new AdminPrincipal(name, RoleOf(result.Claims), AdminCredential.Jwt, null);
    }

    /// <summary>Hashes the presented token and compares with every configured hash, without an early exit.</summary>
    private AdminToken? MatchStatic(string token)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var bytes = Encoding.UTF8.GetBytes(token);
        SHA256.HashData(bytes, hash);
        AdminToken? match = null;
        foreach (var (candidate, expected) in _tokens)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, expected))
            {
                match = candidate;
            }
        }

        return match;
    }

    private AdminRole RoleOf(IReadOnlyDictionary<string, JsonElement> claims)
    {
        bool Holds(string role) =>
            ClaimMatcher.Matches(claims, new ClaimRequirement("roles", role)) || ClaimMatcher.Matches(claims, new ClaimRequirement("role", role));

        return Holds(_options.OperatorRole) ? AdminRole.Operator
            : Holds(_options.AuditorRole) ? AdminRole.Auditor
            : AdminRole.None;
    }
}
