using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AuditGateway.Demo;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AuditGateway.Tests.Policy.Identity;

/// <summary>A signing key made for a test, with its public JWK.</summary>
internal sealed class TestKey : IDisposable
{
    private readonly AsymmetricAlgorithm _algorithm;

    private TestKey(AsymmetricAlgorithm algorithm, SecurityKey key, string alg)
    {
        _algorithm = algorithm;
        Key = key;
        Alg = alg;
    }

    public SecurityKey Key { get; }

    public string Alg { get; }

    public string? Kid => Key.KeyId;

    /// <summary>A key made once per test run under <paramref name="name"/> (RSA generation is slow); never disposed.</summary>
    public static TestKey Shared(string name, Func<TestKey> create) => SharedKeys.GetOrAdd(name, _ => create());

    private static readonly ConcurrentDictionary<string, TestKey> SharedKeys = new();

    public static TestKey Rsa(string? kid, string alg = SecurityAlgorithms.RsaSha256)
    {
        var rsa = RSA.Create(2048);
        return new TestKey(rsa, new RsaSecurityKey(rsa) { KeyId = kid }, alg);
    }

    public static TestKey Ec(string? kid)
    {
        var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new TestKey(ec, new ECDsaSecurityKey(ec) { KeyId = kid }, SecurityAlgorithms.EcdsaSha256);
    }

    /// <summary>The public JWK as JSON.</summary>
    public string Jwk()
    {
        var kid = Kid is null ? "" : $"\"kid\":\"{Kid}\",";
        return _algorithm switch
        {
            RSA rsa => RsaJwk(rsa.ExportParameters(false), kid),
            ECDsa ec => EcJwk(ec.ExportParameters(false), kid),
            _ => throw new InvalidOperationException(),
        };
    }

    public string PublicPem() => _algorithm switch
    {
        RSA rsa => rsa.ExportSubjectPublicKeyInfoPem(),
        ECDsa ec => ec.ExportSubjectPublicKeyInfoPem(),
        _ => throw new InvalidOperationException(),
    };

    public string PrivatePem() => _algorithm.ExportPkcs8PrivateKeyPem();

    /// <summary>The public JWK of an ML-DSA-65 key (<c>"kty": "AKP"</c>), a type the gateway cannot verify with.</summary>
    public static string MlDsaJwk(string kid) =>
        $"{{\"kty\":\"AKP\",\"kid\":\"{kid}\",\"alg\":\"ML-DSA-65\",\"use\":\"sig\",\"pub\":\"{Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(1952))}\"}}";

    public static string Jwks(params TestKey[] keys) => "{\"keys\":[" + string.Join(",", keys.Select(k => k.Jwk())) + "]}";

    private static string RsaJwk(RSAParameters p, string kid) =>
        $"{{\"kty\":\"RSA\",{kid}\"use\":\"sig\",\"n\":\"{Base64UrlEncoder.Encode(p.Modulus)}\",\"e\":\"{Base64UrlEncoder.Encode(p.Exponent)}\"}}";

    private static string EcJwk(ECParameters p, string kid) =>
        $"{{\"kty\":\"EC\",{kid}\"use\":\"sig\",\"crv\":\"P-256\",\"x\":\"{Base64UrlEncoder.Encode(p.Q.X)}\",\"y\":\"{Base64UrlEncoder.Encode(p.Q.Y)}\"}}";

    public void Dispose() => _algorithm.Dispose();
}

/// <summary>Mints tokens the way an identity provider would.</summary>
internal static class Tokens
{
    public const string Issuer = "https://login.example.com/";
    public const string Audience = "api://shop";

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public static string Mint(
        TestKey key,
        DateTimeOffset now,
        string issuer = Issuer,
        string audience = Audience,
        TimeSpan? lifetime = null,
        DateTimeOffset? notBefore = null,
        IDictionary<string, object>? claims = null)
    {
        var all = new Dictionary<string, object> { ["sub"] = "alice" };
        foreach (var (name, value) in claims ?? new Dictionary<string, object>())
        {
            all[name] = value;
        }

        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = (notBefore ?? now).UtcDateTime,
            Expires = (now + (lifetime ?? TimeSpan.FromMinutes(5))).UtcDateTime,
            Claims = all,
            SigningCredentials = new SigningCredentials(key.Key, key.Alg),
        });
    }

    /// <summary>A token assembled by hand from header and payload JSON, with the given signature part.</summary>
    public static string Raw(string headerJson, string payloadJson, string signature = "") =>
        Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(headerJson)) + "." + Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(payloadJson)) + "." + signature;

    public static string Payload(DateTimeOffset now, string issuer = Issuer) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["iss"] = issuer,
        ["aud"] = Audience,
        ["sub"] = "mallory",
        ["exp"] = now.AddMinutes(5).ToUnixTimeSeconds(),
    });
}

/// <summary>A JWKS endpoint at 127.0.0.1:0 whose document and health a test controls.</summary>
internal sealed class JwksServer : IAsyncDisposable
{
    private LoopbackServer? _server;
    private int _requests;

    private JwksServer()
    {
    }

    public volatile string Document = "{\"keys\":[]}";

    public volatile bool Failing;

    /// <summary>When set, requests are held until the client gives up; <see cref="Arrived"/> completes when one is held.</summary>
    public volatile bool Hanging;

    public TaskCompletionSource Arrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Requests => Volatile.Read(ref _requests);

    public Uri Uri { get; private set; } = null!;

    public static async Task<JwksServer> StartAsync(string document)
    {
        var server = new JwksServer { Document = document };
        server._server = await LoopbackServer.StartAsync(app => app.MapGet("/jwks.json", (Func<HttpContext, Task<IResult>>)server.AnswerAsync));
        server.Uri = new Uri(server._server.Url, "jwks.json");
        return server;
    }

    private async Task<IResult> AnswerAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        if (Hanging)
        {
            Arrived.TrySetResult();
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        return Failing ? Results.StatusCode(503) : Results.Text(Document, "application/json");
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
