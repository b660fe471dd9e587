using System.Security.Cryptography;
using System.Text;
using AuditGateway.Policy.Identity;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Policy.Identity;

public sealed class AdminAuthenticatorTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly TestKey _key = TestKey.Shared("k1", () => TestKey.Rsa("k1"));

    private static string Sha256(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private AdminAuthenticator Create(bool withJwt = true, string auditorRole = "auditor", string operatorRole = "operator")
    {
        var tokens = Config.Json($$"""
            [{"name": "ci", "role": "auditor", "sha256": "{{Sha256("s3cret-auditor")}}"},
             {"name": "oncall", "role": "operator", "sha256": "{{Sha256("s3cret-operator").ToLowerInvariant()}}"}]
            """);
        var options = AdminOptions.Parse(tokens, auditorRole, operatorRole);
        JwtAuthenticator? jwt = null;
        if (withJwt)
        {
            var jwtOptions = new JwtOptions { Issuers = [new JwtIssuerOptions { Issuer = Tokens.Issuer, Audiences = [Tokens.Audience], KeysFile = "test" }] };
            jwt = new JwtAuthenticator(jwtOptions, [new StaticKeySource(new KeySet(KeyMaterial.Parse(_key.Jwk()), _time.GetUtcNow()))], _time);
        }

        return new AdminAuthenticator(options, jwt);
    }

    private static Task<AdminPrincipal> Authenticate(AdminAuthenticator admin, string? header) =>
        admin.AuthenticateAsync(header, CancellationToken.None).AsTask();

    private string Jwt(object roles, string claim = "roles") =>
        "Bearer " + Tokens.Mint(_key, _time.GetUtcNow(), claims: new Dictionary<string, object> { [claim] = roles });

    [Fact]
    public async Task Static_tokens_by_hash()
    {
        var admin = Create();

        var auditor = await Authenticate(admin, "Bearer s3cret-auditor");
        Assert.Equal(new AdminPrincipal("ci", AdminRole.Auditor, AdminCredential.Token, null), auditor);
        Assert.True(auditor.Has(AdminRole.Auditor));
        Assert.False(auditor.Has(AdminRole.Operator));

        var operatorPrincipal = await Authenticate(admin, "Bearer s3cret-operator");
        Assert.Equal("oncall", operatorPrincipal.Name);
        Assert.True(operatorPrincipal.Has(AdminRole.Operator));
        Assert.True(operatorPrincipal.Has(AdminRole.Auditor), "operator implies auditor");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong")]
    [InlineData("Bearer s3cret-auditorX")]
    [InlineData("Basic czNjcmV0LWF1ZGl0b3I=")]
    [InlineData("Bearer ")]
    public async Task Unknown_credentials_are_not_authenticated(string? header)
    {
        var principal = await Authenticate(Create(), header);

        Assert.False(principal.IsAuthenticated);
        Assert.False(principal.Has(AdminRole.Auditor));
        Assert.NotNull(principal.Problem);
    }

    [Fact]
    public async Task Jwt_roles_grant_admin_roles()
    {
        var admin = Create();

        var operatorPrincipal = await Authenticate(admin, Jwt(new[] { "reader", "operator" }));
        Assert.Equal(new AdminPrincipal("alice", AdminRole.Operator, AdminCredential.Jwt, null), operatorPrincipal);
        Assert.True(operatorPrincipal.Has(AdminRole.Auditor));

        Assert.Equal(AdminRole.Auditor, (await Authenticate(admin, Jwt("auditor", claim: "role"))).Role);
    }

    [Fact]
    public async Task Jwt_without_a_role_is_authenticated_but_has_none()
    {
        var principal = await Authenticate(Create(), Jwt(new[] { "reader" }));

        Assert.True(principal.IsAuthenticated);
        Assert.Equal(AdminRole.None, principal.Role);
        Assert.False(principal.Has(AdminRole.Auditor));
    }

    [Fact]
    public async Task Configured_role_names_are_used()
    {
        var admin = Create(auditorRole: "gw-audit", operatorRole: "gw-ops");

        Assert.Equal(AdminRole.None, (await Authenticate(admin, Jwt(new[] { "operator" }))).Role);
        Assert.Equal(AdminRole.Operator, (await Authenticate(admin, Jwt(new[] { "gw-ops" }))).Role);
        Assert.Equal(AdminRole.Auditor, (await Authenticate(admin, Jwt(new[] { "gw-audit" }))).Role);
    }

    [Fact]
    public async Task Invalid_jwt_says_why()
    {
        var token = Jwt(new[] { "operator" });
        _time.Advance(TimeSpan.FromHours(1));

        var principal = await Authenticate(Create(), token);

        Assert.False(principal.IsAuthenticated);
        Assert.StartsWith("the token expired", principal.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_jwt_only_static_tokens_work() =>
        Assert.False((await Authenticate(Create(withJwt: false), Jwt(new[] { "operator" }))).IsAuthenticated);

    [Theory]
    [InlineData("""[{"role": "auditor", "sha256": "00"}]""", "admin.tokens[0].name: required")]
    [InlineData("""[{"name": "a", "role": "root", "sha256": "00"}]""", "admin.tokens[0].role: must be auditor or operator")]
    [InlineData("""[{"name": "a", "role": "auditor", "sha256": "abc"}]""", "admin.tokens[0].sha256: must be 64 hex digits")]
    [InlineData("""[{"name": "a", "role": "auditor", "token": "x"}]""", "admin.tokens[0].token: unknown key")]
    [InlineData("""{"name": "a"}""", "admin.tokens: must be a list")]
    public void Config_errors_name_the_key(string json, string expected)
    {
        var error = Assert.Throws<IdentityConfigException>(() => AdminOptions.Parse(Config.Json(json), null, null));
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_tokens_are_refused()
    {
        var hash = Sha256("same");
        var json = Config.Json($$"""[{"name": "a", "role": "auditor", "sha256": "{{hash}}"}, {"name": "b", "role": "operator", "sha256": "{{hash.ToLowerInvariant()}}"}]""");
        Assert.Throws<IdentityConfigException>(() => AdminOptions.Parse(json, null, null));
    }
}
