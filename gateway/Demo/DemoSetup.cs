using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using AuditGateway.Hosting;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AuditGateway.Demo;

/// <summary>
/// What the demo configures besides its manifests, under <c>&lt;data&gt;/demo/</c>: a JWT issuer (an
/// EC P-256 key pair, kept across runs; the gateway trusts its public half), a token it minted for
/// <see cref="Subject"/>, the admin token (in <c>keys/admin.token</c>, where a plain <c>auditgw run</c>
/// would generate one; kept across runs) and the gateway configuration that names them.
/// </summary>
/// <param name="ConfigPath">The gateway configuration written for the demo.</param>
/// <param name="UserTokenFile">The JWT minted for <see cref="Subject"/>.</param>
/// <param name="UserTokenExpires">When that JWT expires.</param>
/// <param name="AdminTokenFile">The operator token's file.</param>
/// <param name="AdminToken">The operator token, for the dashboard's login and the admin API.</param>
internal sealed record DemoSetup(string ConfigPath, string UserTokenFile, DateTimeOffset UserTokenExpires, string AdminTokenFile, string AdminToken)
{
    public const string Issuer = "https://login.demo.local/";

    public const string Audience = "shop.demo.local";

    public const string Subject = "demo-user";

    /// <summary>The name the admin token is recorded under (<c>admin:demo-admin</c>).</summary>
    public const string AdminTokenName = "demo-admin";

    public static readonly TimeSpan UserTokenLifetime = TimeSpan.FromHours(8);

    /// <summary>
    /// How long probe detection blocks a client in the demo: long enough to see the prober's block,
    /// short enough that a newcomer who asks for <c>/.env</c> from their own address is not locked
    /// out of the demo for the default 15 minutes.
    /// </summary>
    public static readonly TimeSpan BlockFor = TimeSpan.FromMinutes(2);

    /// <summary>Writes the files (reusing the issuer key and the admin token of an earlier run) and mints a fresh user token.</summary>
    public static DemoSetup Write(string dataDirectory, DateTimeOffset now)
    {
        var directory = Path.Combine(dataDirectory, "demo");
        Directory.CreateDirectory(directory);
        using var issuerKey = IssuerKey(Path.Combine(directory, "jwt-issuer.pem"));
        File.WriteAllText(Path.Combine(directory, "jwt-issuer.pub.pem"), issuerKey.ExportSubjectPublicKeyInfoPem());

        var adminTokenFile = Path.Combine(dataDirectory, GatewaySettings.GeneratedAdminTokenFile);
        var adminToken = File.Exists(adminTokenFile) ? File.ReadAllText(adminTokenFile).Trim() : "";
        if (adminToken.Length == 0)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(adminTokenFile)!);
            adminToken = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
            WriteSecret(adminTokenFile, adminToken + "\n");
        }

        var expires = now + UserTokenLifetime;
        var userTokenFile = Path.Combine(directory, Subject + ".jwt");
        WriteSecret(userTokenFile, Mint(issuerKey, now, expires) + "\n");

        var configFile = Path.Combine(directory, "gateway.yaml");
        var adminHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(adminToken)));
        File.WriteAllText(configFile, string.Create(CultureInfo.InvariantCulture, $$"""
            # The gateway configuration of auditgw demo (docs/configuration.md), written at each start.
            identity:
              jwt:
                issuers:
                  # The demo's own issuer: its private key is jwt-issuer.pem beside this file.
                  - issuer: {{Issuer}}
                    audiences: [{{Audience}}]
                    keysFile: jwt-issuer.pub.pem
            policy:
              probeDetection:
                blockFor: {{(int)BlockFor.TotalMinutes}}m
            admin:
              tokens:
                # The token in {{GatewaySettings.GeneratedAdminTokenFile}} under the data directory.
                - { name: {{AdminTokenName}}, role: operator, sha256: "{{adminHash}}" }

            """));
        return new DemoSetup(configFile, userTokenFile, expires, adminTokenFile, adminToken);
    }

    private static ECDsa IssuerKey(string path)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        if (File.Exists(path))
        {
            key.ImportFromPem(File.ReadAllText(path));
        }
        else
        {
            WriteSecret(path, key.ExportPkcs8PrivateKeyPem());
        }

        return key;
    }

    private static string Mint(ECDsa key, DateTimeOffset now, DateTimeOffset expires) =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            Claims = new Dictionary<string, object> { ["sub"] = Subject, ["name"] = "Demo User" },
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(key), SecurityAlgorithms.EcdsaSha256),
        });

    /// <summary>A file only its owner can read, written whole (a partial file, then a rename).</summary>
    private static void WriteSecret(string path, string text)
    {
        var partial = path + ".partial";
        File.WriteAllText(partial, text);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(partial, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(partial, path, overwrite: true);
    }
}
