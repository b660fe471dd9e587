using System.Globalization;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Policy.Identity;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// A gateway with every kind of policy, one virtual host per rule, all routed to the echo backend
/// <c>app</c>. 127.0.0.1 and 10.0.0.0/8 are trusted proxies, so tests give the client address in
/// <c>X-Forwarded-For</c> / <c>Forwarded</c>. Two JWT issuers: <see cref="Tokens.Issuer"/> with an
/// RS256 key from a <c>keysFile</c>, and <see cref="EcIssuer"/> with an ES256 key from a JWKS URI
/// served on loopback. The policy's timed state runs on <see cref="Clock"/>.
/// </summary>
public sealed class PolicyGateway : IAsyncLifetime
{
    public const string EcIssuer = "https://ec.example.com/";

    private TestGateway? _gateway;
    private JwksServer? _jwks;

    internal TestGateway Gateway => _gateway ?? throw new InvalidOperationException("the fixture is not initialized");

    internal ManualTimeProvider Clock { get; } = new(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()));

    internal static TestKey Rsa => TestKey.Shared("policy-e2e-rsa", () => TestKey.Rsa("policy-rsa"));

    internal static TestKey Ec => TestKey.Shared("policy-e2e-ec", () => TestKey.Ec("policy-ec"));

    /// <summary>Another RSA key with the same <c>kid</c> as <see cref="Rsa"/>: its signatures do not verify.</summary>
    internal static TestKey Impostor => TestKey.Shared("policy-e2e-impostor", () => TestKey.Rsa("policy-rsa"));

    public async Task InitializeAsync()
    {
        _jwks = await JwksServer.StartAsync(TestKey.Jwks(Ec));
        var gateway = new TestGateway();
        try
        {
            await gateway.AddBackendsAsync("app");
            gateway.WriteConfigAsset("issuer-jwks.json", TestKey.Jwks(Rsa));
            gateway.ConfigYaml = Config(_jwks.Uri);
            gateway.PolicyClock = Clock;
            gateway.WriteManifest("policy.yaml", Manifests(gateway));
            await gateway.StartAsync();
            _gateway = gateway;
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        if (_jwks is not null)
        {
            await _jwks.DisposeAsync();
        }
    }

    private static string Config(Uri jwks) => $"""
        identity:
          trustedProxies: [127.0.0.1/32, 10.0.0.0/8]
          jwt:
            issuers:
              - issuer: {Tokens.Issuer}
                audiences: [{Tokens.Audience}]
                keysFile: issuer-jwks.json
              - issuer: {EcIssuer}
                audiences: [{Tokens.Audience}]
                jwksUri: {jwks}
            auditClaims: [sub, iss, aud, azp, scope]
        policy:
          allowSourceRange: [127.0.0.0/8, "::1/128", 10.0.0.0/8, 192.0.2.0/24, 203.0.113.0/24, 198.51.100.0/24, "2001:db8::/32"]
          denySourceRange: [198.51.100.0/24, "2001:db8:bad::/48"]
          probeDetection:
            maxDeniedPerMinute: 100000
            maxNotFoundPerMinute: 100000
        """;

    private static string Manifests(TestGateway gateway)
    {
        string Ingress(string name, params (string Key, string Value)[] annotations) => Common.Manifests.Ingress(
            name,
            [new HostRule($"{name}.test", new PathRule("/", "Prefix", "app", 80))],
            annotations: annotations.ToDictionary(a => a.Key.Contains('/', StringComparison.Ordinal) ? a.Key : "auditgateway.io/" + a.Key, a => a.Value));

        return Common.Manifests.Documents(
            gateway.ServiceFor("app"),
            Ingress("open"),
            Ingress("allow", ("allow-source-range", "203.0.113.0/24, 2001:db8:1::/64")),
            Ingress("deny", ("deny-source-range", "203.0.113.0/24, 2001:db8:2::/64")),
            Ingress("nginx", ("nginx.ingress.kubernetes.io/whitelist-source-range", "203.0.113.0/24")),
            Ingress("jwt", ("auth", "jwt")),
            Ingress("claims", ("auth", "jwt"), ("require-claims", "scope=orders:write")),
            Ingress("methods", ("allowed-methods", "GET,HEAD")),
            Ingress("rate", ("rate-limit", "2r/m")),
            Ingress("rateid", ("auth", "jwt"), ("rate-limit", "1r/m;by=identity")),
            Ingress("report", ("policy-mode", "report-only"), ("allow-source-range", "203.0.113.0/24"), ("allowed-methods", "GET")));
    }

    /// <summary>A token from the RS256 issuer (or <paramref name="key"/>), valid for five minutes from the real clock.</summary>
    internal static string Token(
        TestKey? key = null,
        string issuer = Tokens.Issuer,
        string audience = Tokens.Audience,
        TimeSpan? age = null,
        IDictionary<string, object>? claims = null,
        string subject = "alice")
    {
        var all = new Dictionary<string, object>(claims ?? new Dictionary<string, object>()) { ["sub"] = subject };
        var now = DateTimeOffset.UtcNow - (age ?? TimeSpan.Zero);
        return Tokens.Mint(key ?? Rsa, now, issuer, audience, claims: all);
    }

    internal static string Seconds(TimeSpan span) => ((int)span.TotalSeconds).ToString(CultureInfo.InvariantCulture);
}
