using AuditGateway.Policy.Identity;
using AuditGateway.Tests.Common;
using Microsoft.IdentityModel.Tokens;

namespace AuditGateway.Tests.Policy.Identity;

public sealed class KeyMaterialTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("auditgw-keys-").FullName;
    private readonly ManualTimeProvider _time = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        File.WriteAllText(Path.Combine(_dir, name), text);
        return name;
    }

    private async Task<JwtResult> AuthenticateWithKeysFile(string keysFile, TestKey signer)
    {
        var options = JwtOptions.Parse(Config.Json($$$"""
            {"jwt": {"issuers": [{"issuer": "{{{Tokens.Issuer}}}", "audiences": ["{{{Tokens.Audience}}}"], "keysFile": "{{{keysFile}}}"}]}}
            """), _dir);
        using var http = new HttpClient();
        using var authenticator = JwtAuthenticator.Create(options, http, _time, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        return await authenticator.AuthenticateAsync("Bearer " + Tokens.Mint(signer, _time.GetUtcNow()), CancellationToken.None);
    }

    [Fact]
    public async Task Keys_file_with_a_JWKS()
    {
        var rsa = TestKey.Shared("k1", () => TestKey.Rsa("k1"));
        var ec = TestKey.Shared("ec k2", () => TestKey.Ec("k2"));
        var file = Write("jwks.json", TestKey.Jwks(rsa, ec));

        Assert.True((await AuthenticateWithKeysFile(file, rsa)).Succeeded);
        Assert.True((await AuthenticateWithKeysFile(file, ec)).Succeeded);
    }

    [Fact]
    public async Task Keys_file_with_a_PEM_RSA_public_key_accepts_any_kid()
    {
        var rsa = TestKey.Shared("whatever", () => TestKey.Rsa("whatever"));
        var file = Write("issuer.pem", rsa.PublicPem());

        Assert.True((await AuthenticateWithKeysFile(file, rsa)).Succeeded);
        var other = TestKey.Shared("whatever 2", () => TestKey.Rsa("whatever"));
        Assert.Equal(JwtFailureReason.BadSignature, (await AuthenticateWithKeysFile(file, other)).Reason);
    }

    [Fact]
    public async Task Keys_file_with_several_PEM_keys_including_EC()
    {
        var rsa = TestKey.Shared("no kid", () => TestKey.Rsa(null));
        var ec = TestKey.Shared("ec no kid", () => TestKey.Ec(null));
        var file = Write("issuer.pem", rsa.PublicPem() + "\n" + ec.PublicPem());

        Assert.True((await AuthenticateWithKeysFile(file, rsa)).Succeeded);
        Assert.True((await AuthenticateWithKeysFile(file, ec)).Succeeded);
    }

    [Fact]
    public async Task Keys_file_with_an_ML_DSA_key_logs_it_once_and_the_other_keys_verify()
    {
        var signer = TestKey.Shared("good", () => TestKey.Rsa("good"));
        var file = Write("mixed.json", $"{{\"keys\":[{TestKey.MlDsaJwk("pq-1")},{signer.Jwk()}]}}");
        var options = JwtOptions.Parse(Config.Json($$$"""
            {"jwt": {"issuers": [{"issuer": "{{{Tokens.Issuer}}}", "audiences": ["{{{Tokens.Audience}}}"], "keysFile": "{{{file}}}"}]}}
            """), _dir);
        var logs = new LogCollector();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        using var http = new HttpClient();
        using var authenticator = JwtAuthenticator.Create(options, http, _time, loggers);

        var result = await authenticator.AuthenticateAsync("Bearer " + Tokens.Mint(signer, _time.GetUtcNow()), CancellationToken.None);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Single(logs.Containing(LogLevel.Warning, "mixed.json", "key 'pq-1' (kty AKP, alg ML-DSA-65)", "skipped"));
    }

    [Fact]
    public void Private_keys_are_refused()
    {
        var rsa = TestKey.Shared("k1", () => TestKey.Rsa("k1"));
        var error = Assert.Throws<KeyMaterialException>(() => KeyMaterial.Parse(rsa.PrivatePem()));
        Assert.Contains("private key", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("MII", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Jwk_with_private_parts_is_refused()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.ExportParameters(true)));
        var json = $"{{\"keys\":[{{\"kty\":\"RSA\",\"n\":\"{jwk.N}\",\"e\":\"{jwk.E}\",\"d\":\"{jwk.D}\"}}]}}";

        Assert.Throws<KeyMaterialException>(() => KeyMaterial.Parse(json));
    }

    [Fact]
    public void Small_RSA_keys_and_encryption_keys_are_skipped()
    {
        using var small = System.Security.Cryptography.RSA.Create(1024);
        var p = small.ExportParameters(false);
        var weak = $"{{\"kty\":\"RSA\",\"kid\":\"weak\",\"n\":\"{Base64UrlEncoder.Encode(p.Modulus)}\",\"e\":\"{Base64UrlEncoder.Encode(p.Exponent)}\"}}";
        var good = TestKey.Shared("good", () => TestKey.Rsa("good"));
        var enc = good.Jwk().Replace("\"sig\"", "\"enc\"", StringComparison.Ordinal).Replace("good", "enc", StringComparison.Ordinal);

        var skipped = new List<string>();
        var keys = KeyMaterial.Parse($"{{\"keys\":[{weak},{enc},{good.Jwk()}]}}", skipped);

        Assert.Equal(["good"], keys.Select(k => k.KeyId));
        Assert.Equal(["key 'weak' (kty RSA) is not RSA of at least 2048 bits nor EC P-256; skipped"], skipped);
        Assert.Throws<KeyMaterialException>(() => KeyMaterial.Parse($"{{\"keys\":[{weak}]}}"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("hello")]
    [InlineData("{not json")]
    [InlineData("-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n")]
    public void Unusable_documents_are_refused(string text) =>
        Assert.Throws<KeyMaterialException>(() => KeyMaterial.Parse(text));
}
