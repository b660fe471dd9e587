using System.Text.Json;
using AuditGateway.Configuration;
using AuditGateway.Policy;

namespace AuditGateway.Tests.Policy;

public sealed class PolicyOptionsTests
{
    [Fact]
    public void Absent_sections_give_the_defaults()
    {
        var options = PolicyOptions.Parse(null, null);

        Assert.Equal(PolicyOptions.Default, options);
        Assert.Equal(AuthMode.None, options.DefaultAuth);
        Assert.True(options.ProbeDetection.Enabled);
        Assert.Equal(20, options.ProbeDetection.MaxDeniedPerMinute);
        Assert.Equal(50, options.ProbeDetection.MaxNotFoundPerMinute);
        Assert.Equal(TimeSpan.FromMinutes(15), options.ProbeDetection.BlockFor);
        Assert.Contains("/wp-login.php", options.ProbeDetection.Paths);
        Assert.True(options.TrustedProxies.IsEmpty);
    }

    [Fact]
    public void Reads_the_sections_from_YAML()
    {
        var (policy, identity) = Sections("""
            identity:
              jwt: { issuers: [] }
              trustedProxies: [10.0.0.0/8, "2001:db8::/32"]
            policy:
              defaultAuth: jwt
              allowSourceRange: [192.0.2.0/24]
              denySourceRange: [192.0.2.66]
              probeDetection:
                enabled: false
                paths: [/.env, /secret/]
                maxDeniedPerMinute: 5
                maxNotFoundPerMinute: 0
                blockFor: 1h
            """);

        var options = PolicyOptions.Parse(policy, identity);

        Assert.Equal(AuthMode.Jwt, options.DefaultAuth);
        Assert.Equal(["10.0.0.0/8", "2001:db8::/32"], options.TrustedProxies.Ranges);
        Assert.Equal(["192.0.2.0/24"], options.AllowSourceRange.Ranges);
        Assert.Equal(["192.0.2.66/32"], options.DenySourceRange.Ranges);
        Assert.Equal(
            new ProbeDetectionOptions { Enabled = false, Paths = ["/.env", "/secret/"], MaxDeniedPerMinute = 5, MaxNotFoundPerMinute = 0, BlockFor = TimeSpan.FromHours(1) },
            options.ProbeDetection);
        Assert.Equal(options, PolicyOptions.Parse(policy, identity));
    }

    [Theory]
    [InlineData("policy: { denySourceRange: [10.0.0.0/8, 2001:db8::/32, 300.1.1.1] }", "policy.denySourceRange[2]: '300.1.1.1' is not a CIDR")]
    [InlineData("identity: { trustedProxies: [10.0.0.1/8] }", "identity.trustedProxies[0]: '10.0.0.1/8' is not a CIDR")]
    [InlineData("identity: { trustedProxies: 10.0.0.0/8 }", "identity.trustedProxies: expected a list, got '10.0.0.0/8'")]
    [InlineData("policy: { allowSourceRange: [[1]] }", "policy.allowSourceRange[0]: expected a string, got a list")]
    [InlineData("policy: { defaultAuth: basic }", "policy.defaultAuth: 'basic' is not one of: none, jwt")]
    [InlineData("policy: { denySourceRanges: [] }", "policy.denySourceRanges: unknown key")]
    [InlineData("policy: { probeDetection: { blockFor: 15 } }", "policy.probeDetection.blockFor: expected a duration such as 15m, got 15")]
    [InlineData("policy: { probeDetection: { blockFor: 15x } }", "policy.probeDetection.blockFor: '15x' has an unknown unit 'x'")]
    [InlineData("policy: { probeDetection: { blockFor: 0s } }", "policy.probeDetection.blockFor: must be longer than 0")]
    [InlineData("policy: { probeDetection: { maxDeniedPerMinute: -1 } }", "policy.probeDetection.maxDeniedPerMinute: expected a whole number of 0 or more, got -1")]
    [InlineData("policy: { probeDetection: { maxNotFoundPerMinute: '50' } }", "policy.probeDetection.maxNotFoundPerMinute: expected a whole number of 0 or more, got '50'")]
    [InlineData("policy: { probeDetection: { enabled: yes please } }", "policy.probeDetection.enabled: expected true or false, got 'yes please'")]
    [InlineData("policy: { probeDetection: { paths: [.env] } }", "policy.probeDetection.paths[0]: '.env' is not a path (it must start with /)")]
    [InlineData("policy: { probeDetection: { treshold: 1 } }", "policy.probeDetection.treshold: unknown key")]
    [InlineData("policy: [1]", "policy: expected a mapping, got a list")]
    public void Errors_name_the_key(string yaml, string message)
    {
        var (policy, identity) = Sections(yaml);

        var error = Assert.Throws<OptionException>(() => PolicyOptions.Parse(policy, identity));

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_error_is_reported()
    {
        var (policy, identity) = Sections("""
            identity: { trustedProxies: [nope] }
            policy: { denySourceRange: [1.2.3.4/40], probeDetection: { blockFor: soon } }
            """);

        var error = Assert.Throws<OptionException>(() => PolicyOptions.Parse(policy, identity));

        Assert.Equal(3, error.Message.Split(Environment.NewLine).Length);
    }

    private static (JsonElement? Policy, JsonElement? Identity) Sections(string yaml)
    {
        var root = YamlDocuments.Parse(yaml)[0].Root!;
        using var document = JsonDocument.Parse(root.ToJsonString());
        var element = document.RootElement.Clone();
        return (
            element.TryGetProperty("policy", out var policy) ? policy : null,
            element.TryGetProperty("identity", out var identity) ? identity : null);
    }
}
