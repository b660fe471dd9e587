using AuditGateway.Policy.Identity;

namespace AuditGateway.Tests.Policy.Identity;

public sealed class JwtOptionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("auditgw-opts-").FullName;

    public JwtOptionsTests()
    {
        var key = TestKey.Shared("k1", () => TestKey.Rsa("k1"));
        Directory.CreateDirectory(Path.Combine(_dir, "keys"));
        File.WriteAllText(Path.Combine(_dir, "keys", "jwks.json"), TestKey.Jwks(key));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private JwtOptions Parse(string json) => JwtOptions.Parse(Config.Json(json), _dir);

    private void AssertError(string json, string expected)
    {
        var error = Assert.Throws<IdentityConfigException>(() => Parse(json));
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parses_issuers_with_defaults()
    {
        var options = Parse("""
            {"jwt": {"issuers": [
              {"issuer": "https://login.example.com/", "audiences": ["api://shop"], "jwksUri": "https://login.example.com/.well-known/jwks.json"},
              {"issuer": "offline", "audiences": "api://batch", "keysFile": "keys/jwks.json"}]},
             "trustedProxies": ["10.0.0.0/8"]}
            """);

        Assert.Equal(2, options.Issuers.Count);
        Assert.Equal(new Uri("https://login.example.com/.well-known/jwks.json"), options.Issuers[0].JwksUri);
        Assert.Equal(["api://batch"], options.Issuers[1].Audiences);
        Assert.Equal(Path.Combine(_dir, "keys", "jwks.json"), options.Issuers[1].KeysFile);
        Assert.Single(options.Issuers[1].FileKeys);
        Assert.Equal(JwtOptions.DefaultAuditClaims, options.AuditClaims);
        Assert.Equal(TimeSpan.FromSeconds(30), options.ClockSkew);
    }

    [Fact]
    public void Equal_configs_are_equal_and_a_changed_key_file_is_not()
    {
        const string json = """{"jwt": {"issuers": [{"issuer": "i", "audiences": ["a"], "keysFile": "keys/jwks.json"}], "auditClaims": ["sub"]}}""";
        var first = Parse(json);
        Assert.Equal(first, Parse(json));

        var other = TestKey.Shared("k2", () => TestKey.Rsa("k2"));
        File.WriteAllText(Path.Combine(_dir, "keys", "jwks.json"), TestKey.Jwks(other));
        Assert.NotEqual(first, Parse(json));
    }

    [Fact]
    public void Absent_identity_or_jwt_means_no_issuers()
    {
        Assert.Empty(JwtOptions.Parse(null, _dir).Issuers);
        Assert.Empty(Parse("""{"trustedProxies": []}""").Issuers);
    }

    [Theory]
    [InlineData("30s", 30)]
    [InlineData("2m", 120)]
    [InlineData("500ms", 0.5)]
    [InlineData("0", 0)]
    [InlineData("5m", 300)]
    public void Clock_skew_accepts_durations(string text, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), Parse($$$"""{"jwt": {"issuers": [{"issuer": "i", "audiences": ["a"], "keysFile": "keys/jwks.json"}], "clockSkew": "{{{text}}}"}}""").ClockSkew);

    [Fact]
    public void Clock_skew_as_a_number_is_seconds() =>
        Assert.Equal(TimeSpan.FromSeconds(10), Parse("""{"jwt": {"issuers": [{"issuer": "i", "audiences": ["a"], "keysFile": "keys/jwks.json"}], "clockSkew": 10}}""").ClockSkew);

    [Theory]
    [InlineData("""{"jwt": {}}""", "identity.jwt.issuers: required")]
    [InlineData("""{"jwt": {"issuers": []}}""", "identity.jwt.issuers: required")]
    [InlineData("""{"jwt": {"issuers": [{"audiences": ["a"], "keysFile": "keys/jwks.json"}]}}""", "identity.jwt.issuers[0].issuer: required")]
    [InlineData("""{"jwt": {"issuers": [{"issuer": "i", "keysFile": "keys/jwks.json"}]}}""", "identity.jwt.issuers[0].audiences: required")]
    [InlineData("""{"jwt": {"issuers": [{"issuer": "i", "audiences": []}]}}""", "identity.jwt.issuers[0].audiences: required")]
    [InlineData("""{"jwt": {"issuers": [{"issuer": "i", "audiences": ["a"]}]}}""", "identity.jwt.issuers[0]: exactly one of jwksUri or keysFile")]
    [InlineData("""{"jwt": {"issuers": [{"issuer": "i", "audiences": ["a"], "keysFile": "k", "jwksUri": "https://x/"}]}}""", "identity.jwt.issuers[0]: exactly one of jwksUri or keysFile")]
    [InlineData("""{"jwt": {"issuers": [{"issuer": "i", "audiences": ["a"], "jwksUri": "http://idp.example/jwks"}]}}""", "identity.jwt.issuers[0].jwksUri: must be https")]
    [InlineData("""{"jwt": {"issuers": [{"issuer": "i", "audiences": ["a"], "jwksUri": "keys.json"}]}}""", "identity.jwt.issuers[0].jwksUri: not an absolute")]
    [InlineData("""{"jwt": {"issuers": [{"issuer": "i", "audiences": ["a"], "keysFile": "missing.pem"}]}}""", "identity.jwt.issuers[0].keysFile: ")]
    [InlineData("""{"jwt": {"issuers": [{"issuer": "i", "audiences": ["a"], "keysFile": "keys/jwks.json", "jwks": 1}]}}""", "identity.jwt.issuers[0].jwks: unknown key")]
    [InlineData("""{"jwt": {"issuers": [{"issuer": "i", "audiences": ["a"], "keysFile": "keys/jwks.json"}, {"issuer": "i", "audiences": ["b"], "keysFile": "keys/jwks.json"}]}}""", "identity.jwt.issuers[1].issuer: 'i' is listed twice")]
    [InlineData("""{"jwt": {"issuers": [{"issuer": "i", "audiences": ["a"], "keysFile": "keys/jwks.json"}], "clockSkew": "6m"}}""", "identity.jwt.clockSkew: at most 5m")]
    [InlineData("""{"jwt": {"issuers": [{"issuer": "i", "audiences": ["a"], "keysFile": "keys/jwks.json"}], "clockSkew": "soon"}}""", "identity.jwt.clockSkew: expected a duration")]
    [InlineData("""{"jwt": {"issuers": [{"issuer": "i", "audiences": ["a"], "keysFile": "keys/jwks.json"}], "clockSkew": -1}}""", "identity.jwt.clockSkew: must not be negative")]
    [InlineData("""{"jwt": {"issuers": [{"issuer": "i", "audiences": [""], "keysFile": "keys/jwks.json"}]}}""", "identity.jwt.issuers[0].audiences[0]: must be a non-empty string")]
    [InlineData("""{"jwt": {"issuers": [], "auditclaims": []}}""", "identity.jwt.auditclaims: unknown key")]
    [InlineData("""{"jwts": {}}""", "identity.jwts: unknown key")]
    [InlineData("""[]""", "identity: must be a mapping")]
    public void Errors_name_the_key(string json, string expected) => AssertError(json, expected);

    [Fact]
    public void Http_jwks_uri_is_allowed_to_loopback() =>
        Assert.NotNull(Parse("""{"jwt": {"issuers": [{"issuer": "i", "audiences": ["a"], "jwksUri": "http://127.0.0.1:8080/jwks"}]}}""").Issuers[0].JwksUri);
}
