using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Policy.Identity;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// A gateway with a log made of real traffic of every shape a search filters on: two routes
/// (<c>default/app</c>, <c>default/shop</c>), requests that match no route (404), clients denied
/// by a source range (403), JWT identities (<c>alice</c>, <c>bob</c>) and a missing token (401),
/// three client addresses, and a config change to <c>default/shop</c>. The admin API takes
/// <see cref="AuditorToken"/> (<c>alice-auditor</c>). 127.0.0.1 is a trusted proxy, so
/// <c>X-Forwarded-For</c> sets the client.
/// </summary>
public sealed class SearchGateway : SharedGateway
{
    public const string AuditorToken = "auditor-token-search-5d1e";

    public static readonly string[] Clients = ["203.0.113.1", "203.0.113.2", "203.0.113.3"];

    private protected override string[] Backends => ["app", "shop"];

    private protected override TestGateway CreateGateway()
    {
        var gateway = new TestGateway();
        gateway.WriteConfigAsset("issuer-jwks.json", TestKey.Jwks(PolicyGateway.Rsa));
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(AuditorToken)));
        gateway.ConfigYaml = $$"""
            identity:
              trustedProxies: [127.0.0.1/32]
              jwt:
                issuers:
                  - issuer: {{Tokens.Issuer}}
                    audiences: [{{Tokens.Audience}}]
                    keysFile: issuer-jwks.json
            policy:
              denySourceRange: [198.51.100.0/24]
            admin:
              tokens:
                - { name: alice-auditor, role: auditor, sha256: "{{sha}}" }
            """;
        return gateway;
    }

    private protected override void WriteManifests(TestGateway gateway) => gateway.WriteManifest("routes.yaml", Manifests(gateway, "/"));

    private protected override Task StartedAsync() => TrafficAsync();

    /// <summary>Every entry of the log as the files hold it (whole lines).</summary>
    internal List<JsonElement> Entries() => AuditLogFiles.ReadEntries(Gateway.DataDirectory);

    private static string Manifests(TestGateway gateway, string shopPath) => Common.Manifests.Documents(
        gateway.ServiceFor("app"),
        gateway.ServiceFor("shop"),
        Common.Manifests.Ingress("app", [new HostRule("app.test", new PathRule("/", "Prefix", "app", 80))]),
        Common.Manifests.Ingress("shop", [new HostRule("shop.test", new PathRule(shopPath, "Prefix", "shop", 80))]),
        Common.Manifests.Ingress(
            "jwt",
            [new HostRule("jwt.test", new PathRule("/", "Prefix", "app", 80))],
            annotations: new Dictionary<string, string> { ["auditgateway.io/auth"] = "jwt" }));

    private async Task TrafficAsync()
    {
        var gateway = Gateway;
        for (var i = 0; i < 6; i++)
        {
            var client = new Send { XForwardedFor = Clients[i % Clients.Length] };
            await gateway.SendAsync($"http://app.test/a{i}", client);
            await gateway.SendAsync($"http://shop.test/s{i}", client);
        }

        await gateway.SendAsync("http://nowhere.test/x", new Send { XForwardedFor = Clients[0] });
        await gateway.SendAsync("http://nowhere.test/y", new Send { XForwardedFor = Clients[1] });
        await gateway.SendAsync("http://app.test/denied", new Send { XForwardedFor = "198.51.100.7" });
        await gateway.SendAsync("http://shop.test/denied", new Send { XForwardedFor = "198.51.100.8" });
        await gateway.SendAsync("http://jwt.test/me", new Send { Bearer = PolicyGateway.Token(subject: "alice"), XForwardedFor = Clients[2] });
        await gateway.SendAsync("http://jwt.test/me", new Send { Bearer = PolicyGateway.Token(subject: "alice"), XForwardedFor = Clients[0] });
        await gateway.SendAsync("http://jwt.test/me", new Send { Bearer = PolicyGateway.Token(subject: "bob"), XForwardedFor = Clients[0] });
        await gateway.SendAsync("http://jwt.test/me", new Send { XForwardedFor = Clients[1] });

        gateway.WriteManifest("routes.yaml", Manifests(gateway, "/store"));
        await gateway.WaitForRouteAsync("default/shop:shop.test/store:Prefix");
        await gateway.SendAsync("http://shop.test/store/1", new Send { XForwardedFor = Clients[2] });
        await gateway.SendAsync("http://shop.test/gone", new Send { XForwardedFor = Clients[2] });
    }
}
