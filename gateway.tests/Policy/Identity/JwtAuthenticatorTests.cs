using System.Text.Json;
using AuditGateway.Policy.Identity;
using AuditGateway.Tests.Common;
using Microsoft.IdentityModel.Tokens;

namespace AuditGateway.Tests.Policy.Identity;

public sealed class JwtAuthenticatorTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly TestKey _rsa = TestKey.Shared("rsa-1", () => TestKey.Rsa("rsa-1"));
    private readonly TestKey _ec = TestKey.Shared("ec-1", () => TestKey.Ec("ec-1"));
    private readonly TestKey _pss = TestKey.Shared("pss-1", () => TestKey.Rsa("pss-1", SecurityAlgorithms.RsaSsaPssSha256));

    private JwtAuthenticator Authenticator(JwtOptions? options = null, params TestKey[] keys)
    {
        var keySet = (keys.Length == 0 ? [_rsa, _ec, _pss] : keys).Select(k => KeyMaterial.ParseJwks(k.Jwk())[0]).ToList();
        options ??= Options();
        return new JwtAuthenticator(options, [.. options.Issuers.Select(_ => new StaticKeySource(new KeySet(keySet, _time.GetUtcNow())))], _time);
    }

    private static JwtOptions Options(IReadOnlyList<string>? auditClaims = null) => new()
    {
        Issuers =
        [
            new JwtIssuerOptions { Issuer = Tokens.Issuer, Audiences = ["api://other", Tokens.Audience], KeysFile = "test" },
            new JwtIssuerOptions { Issuer = "https://second.example/", Audiences = ["api://second"], KeysFile = "test" },
        ],
        AuditClaims = auditClaims ?? JwtOptions.DefaultAuditClaims,
    };

    private async Task<JwtResult> Authenticate(string token) =>
        await Authenticator().AuthenticateAsync("Bearer " + token, CancellationToken.None);

    private static void AssertFails(JwtResult result, JwtFailureReason reason)
    {
        Assert.False(result.Succeeded, result.ToString());
        Assert.Equal(reason, result.Reason);
    }

    [Fact]
    public async Task Valid_RS256_token_gives_the_identity()
    {
        var claims = new Dictionary<string, object> { ["azp"] = "shop-web", ["scope"] = "orders:read orders:write", ["email"] = "a@example.com" };
        var result = await Authenticate(Tokens.Mint(_rsa, _time.GetUtcNow(), claims: claims));

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal("ok", result.Code);
        Assert.Equal("alice", result.Identity.Subject);
        Assert.Equal(Tokens.Issuer, result.Identity.Issuer);
        Assert.Equal(Tokens.Audience, result.Identity.Audience);
        Assert.Equal("shop-web", result.Identity.ClientId);
        Assert.Equal("orders:read orders:write", result.Identity.Claims["scope"]);
        Assert.False(result.Identity.Claims.ContainsKey("email"));
        Assert.Equal("a@example.com", result.Claims["email"].GetString());
    }

    [Fact]
    public async Task Valid_ES256_token_is_accepted()
    {
        var result = await Authenticate(Tokens.Mint(_ec, _time.GetUtcNow()));
        Assert.True(result.Succeeded, result.ToString());
    }

    [Fact]
    public async Task Valid_PS256_token_is_accepted()
    {
        var result = await Authenticate(Tokens.Mint(_pss, _time.GetUtcNow()));
        Assert.True(result.Succeeded, result.ToString());
    }

    [Fact]
    public async Task Header_scheme_is_case_insensitive()
    {
        var result = await Authenticator().AuthenticateAsync("bearer  " + Tokens.Mint(_rsa, _time.GetUtcNow()), CancellationToken.None);
        Assert.True(result.Succeeded, result.ToString());
    }

    [Fact]
    public async Task Client_id_falls_back_to_client_id_claim()
    {
        var result = await Authenticate(Tokens.Mint(_rsa, _time.GetUtcNow(), claims: new Dictionary<string, object> { ["client_id"] = "batch" }));
        Assert.Equal("batch", result.Identity!.ClientId);
    }

    [Fact]
    public async Task Expired_token_is_refused_with_its_expiry()
    {
        var token = Tokens.Mint(_rsa, _time.GetUtcNow(), lifetime: TimeSpan.FromMinutes(1));
        _time.Advance(TimeSpan.FromMinutes(1) + JwtOptions.DefaultClockSkew);

        var result = await Authenticate(token);

        AssertFails(result, JwtFailureReason.Expired);
        Assert.Equal("expired", result.Code);
        Assert.Equal("the token expired at 2025-01-01T00:01:00Z", result.Description);
    }

    [Fact]
    public async Task Expired_within_the_clock_skew_is_accepted()
    {
        var token = Tokens.Mint(_rsa, _time.GetUtcNow(), lifetime: TimeSpan.FromMinutes(1));
        _time.Advance(TimeSpan.FromMinutes(1) + JwtOptions.DefaultClockSkew - TimeSpan.FromSeconds(1));

        Assert.True((await Authenticate(token)).Succeeded);
    }

    [Fact]
    public async Task Not_yet_valid_token_is_refused()
    {
        var now = _time.GetUtcNow();
        var token = Tokens.Mint(_rsa, now, notBefore: now.AddMinutes(2), lifetime: TimeSpan.FromMinutes(10));

        AssertFails(await Authenticate(token), JwtFailureReason.NotYetValid);
    }

    [Fact]
    public async Task Not_yet_valid_within_the_clock_skew_is_accepted()
    {
        var now = _time.GetUtcNow();
        var token = Tokens.Mint(_rsa, now, notBefore: now.AddSeconds(20), lifetime: TimeSpan.FromMinutes(10));

        Assert.True((await Authenticate(token)).Succeeded);
    }

    [Fact]
    public async Task Configured_clock_skew_applies()
    {
        var token = Tokens.Mint(_rsa, _time.GetUtcNow(), lifetime: TimeSpan.FromMinutes(1));
        _time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(5));
        var strict = Authenticator(Options() with { ClockSkew = TimeSpan.Zero });

        AssertFails(await strict.AuthenticateAsync("Bearer " + token, CancellationToken.None), JwtFailureReason.Expired);
    }

    [Fact]
    public async Task Token_without_exp_is_refused()
    {
        var token = Tokens.Raw("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", "{\"iss\":\"" + Tokens.Issuer + "\",\"aud\":\"api://shop\"}");
        var signed = SignRaw(token);

        AssertFails(await Authenticate(signed), JwtFailureReason.Invalid);
    }

    [Fact]
    public async Task Unknown_issuer_is_refused()
    {
        var result = await Authenticate(Tokens.Mint(_rsa, _time.GetUtcNow(), issuer: "https://evil.example/"));

        AssertFails(result, JwtFailureReason.WrongIssuer);
        Assert.Contains("https://evil.example/", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audience_of_another_configured_issuer_is_refused()
    {
        AssertFails(await Authenticate(Tokens.Mint(_rsa, _time.GetUtcNow(), audience: "api://second")), JwtFailureReason.WrongAudience);
    }

    [Fact]
    public async Task Token_signed_by_another_key_with_the_same_kid_is_refused()
    {
        var impostor = TestKey.Shared("impostor rsa-1", () => TestKey.Rsa("rsa-1"));
        AssertFails(await Authenticate(Tokens.Mint(impostor, _time.GetUtcNow())), JwtFailureReason.BadSignature);
    }

    [Fact]
    public async Task Tampered_payload_is_refused()
    {
        var parts = Tokens.Mint(_rsa, _time.GetUtcNow()).Split('.');
        var payload = Base64UrlEncoder.Decode(parts[1]).Replace("alice", "admin", StringComparison.Ordinal);
        var tampered = parts[0] + "." + Base64UrlEncoder.Encode(payload) + "." + parts[2];

        AssertFails(await Authenticate(tampered), JwtFailureReason.BadSignature);
    }

    [Fact]
    public async Task Unknown_kid_is_refused()
    {
        var other = TestKey.Shared("rsa-unknown", () => TestKey.Rsa("rsa-unknown"));
        var result = await Authenticate(Tokens.Mint(other, _time.GetUtcNow()));

        AssertFails(result, JwtFailureReason.UnknownKey);
        Assert.Contains("rsa-unknown", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_of_the_wrong_type_for_the_alg_is_not_used()
    {
        // An ES256 token whose kid names the RSA key: no EC key fits, so no key is tried.
        using var ec = TestKey.Ec("rsa-1");
        AssertFails(await Authenticate(Tokens.Mint(ec, _time.GetUtcNow())), JwtFailureReason.UnknownKey);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("None")]
    [InlineData("NONE")]
    public async Task Alg_none_is_always_refused(string alg)
    {
        var token = Tokens.Raw($"{{\"alg\":\"{alg}\",\"typ\":\"JWT\"}}", Tokens.Payload(_time.GetUtcNow()));

        var result = await Authenticate(token);

        AssertFails(result, JwtFailureReason.AlgNone);
        Assert.Equal("alg-none", result.Code);
    }

    [Theory]
    [InlineData("HS256")]
    [InlineData("RS512")]
    [InlineData("ES384")]
    public async Task Other_algs_are_refused(string alg)
    {
        var token = Tokens.Raw($"{{\"alg\":\"{alg}\",\"kid\":\"rsa-1\"}}", Tokens.Payload(_time.GetUtcNow()), "c2ln");
        AssertFails(await Authenticate(token), JwtFailureReason.UnsupportedAlg);
    }

    [Fact]
    public async Task Hs256_signed_with_the_public_key_is_refused()
    {
        // The classic key-confusion attack: HMAC keyed with the RSA public key bytes.
        var hmacKey = new SymmetricSecurityKey(System.Text.Encoding.UTF8.GetBytes(_rsa.PublicPem())) { KeyId = "rsa-1" };
        var token = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Tokens.Issuer,
            Audience = Tokens.Audience,
            Expires = _time.GetUtcNow().AddMinutes(5).UtcDateTime,
            NotBefore = _time.GetUtcNow().UtcDateTime,
            IssuedAt = _time.GetUtcNow().UtcDateTime,
            SigningCredentials = new SigningCredentials(hmacKey, SecurityAlgorithms.HmacSha256),
        });

        AssertFails(await Authenticate(token), JwtFailureReason.UnsupportedAlg);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("a.b")]
    [InlineData("a.b.c.d")]
    [InlineData("a.b.c.d.e")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.!!!.sig")]
    [InlineData("bm90IGpzb24.bm90IGpzb24.c2ln")]
    [InlineData("..")]
    public async Task Malformed_tokens_are_refused(string token) =>
        AssertFails(await Authenticate(token), JwtFailureReason.Malformed);

    [Fact]
    public async Task Overlong_token_is_refused_before_parsing() =>
        AssertFails(await Authenticate(new string('a', JwtAuthenticator.MaxTokenLength + 1)), JwtFailureReason.Malformed);

    [Fact]
    public async Task Crit_header_is_refused()
    {
        var token = SignRaw(Tokens.Raw("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"crit\":[\"exp\"]}", Tokens.Payload(_time.GetUtcNow())));
        AssertFails(await Authenticate(token), JwtFailureReason.Malformed);
    }

    [Fact]
    public async Task Duplicate_claim_names_are_refused()
    {
        var now = _time.GetUtcNow();
        var payload = $"{{\"iss\":\"{Tokens.Issuer}\",\"aud\":\"{Tokens.Audience}\",\"exp\":{now.AddMinutes(5).ToUnixTimeSeconds()},\"sub\":\"alice\",\"sub\":\"admin\"}}";
        var result = await Authenticate(SignRaw(Tokens.Raw("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", payload)));

        Assert.False(result.Succeeded);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer")]
    public async Task Missing_bearer_token(string? header)
    {
        var result = await Authenticator().AuthenticateAsync(header, CancellationToken.None);
        Assert.False(result.Succeeded);
        AssertFails(result, JwtFailureReason.Missing);
    }

    [Fact]
    public async Task Audit_claims_never_hold_the_token()
    {
        var token = Tokens.Mint(_rsa, _time.GetUtcNow(), claims: new Dictionary<string, object> { ["roles"] = new[] { "auditor", "reader" } });
        var everything = Options(auditClaims: ["sub", "iss", "aud", "exp", "roles", "nbf", "iat"]);

        var result = await Authenticator(everything).AuthenticateAsync("Bearer " + token, CancellationToken.None);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal("auditor reader", result.Identity.Claims["roles"]);
        var serialized = JsonSerializer.Serialize(result.Identity.Claims) + result.Identity + result.Description;
        foreach (var part in token.Split('.'))
        {
            Assert.DoesNotContain(part, serialized, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Audit_claims_are_flattened_as_documented()
    {
        var claims = new Dictionary<string, object>
        {
            ["roles"] = new object[] { "a", 1, true },
            ["cnf"] = new Dictionary<string, object> { ["x5t"] = "abc" },
            ["n"] = 42,
            ["long"] = new string('x', 5000),
        };
        var options = Options(auditClaims: ["roles", "cnf", "n", "long", "absent"]);

        var result = await Authenticator(options).AuthenticateAsync("Bearer " + Tokens.Mint(_rsa, _time.GetUtcNow(), claims: claims), CancellationToken.None);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal("a 1 true", result.Identity.Claims["roles"]);
        Assert.Equal("{\"x5t\":\"abc\"}", result.Identity.Claims["cnf"]);
        Assert.Equal("42", result.Identity.Claims["n"]);
        Assert.Equal(CallerIdentity.MaxClaimLength, result.Identity.Claims["long"].Length);
        Assert.False(result.Identity.Claims.ContainsKey("absent"));
    }

    [Fact]
    public async Task Audience_array_picks_the_configured_audience()
    {
        var claims = new Dictionary<string, object> { ["aud"] = new[] { "api://elsewhere", Tokens.Audience } };
        var result = await Authenticate(Tokens.Mint(_rsa, _time.GetUtcNow(), audience: null!, claims: claims));

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(Tokens.Audience, result.Identity.Audience);
    }

    private string SignRaw(string unsigned)
    {
        var signingInput = unsigned[..unsigned.LastIndexOf('.')];
        var provider = _rsa.Key.CryptoProviderFactory.CreateForSigning(_rsa.Key, SecurityAlgorithms.RsaSha256);
        var signature = provider.Sign(System.Text.Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64UrlEncoder.Encode(signature);
    }
}
