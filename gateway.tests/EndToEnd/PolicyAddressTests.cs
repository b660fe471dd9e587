using System.Net;
using AuditGateway.Tests.Common;

using static AuditGateway.Tests.EndToEnd.PolicyTestKit;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// Address rules end to end (docs/annotations.md, §5): the client is whom a trusted proxy says it is,
/// IPv4 or IPv6, in <c>X-Forwarded-For</c> or <c>Forwarded</c>; the same headers from an untrusted
/// peer are ignored. Every decision is audited with its rule, reason, client and chain.
/// </summary>
public sealed class PolicyAddressTests(PolicyGateway fixture) : IClassFixture<PolicyGateway>
{
    private TestGateway Gateway => fixture.Gateway;

    [Theory]
    [InlineData("203.0.113.7", null)]
    [InlineData(null, "for=203.0.113.7")]
    [InlineData("2001:db8:1::5", null)]
    [InlineData(null, "for=\"[2001:db8:1::5]:4711\";proto=https")]
    public async Task Allow_list_admits_a_forwarded_client_in_range(string? xff, string? forwarded)
    {
        var exchange = await Gateway.SendAsync("http://allow.test/x", new Send { XForwardedFor = xff, Forwarded = forwarded });

        AssertAllowed(exchange, "app");
        var client = xff ?? (forwarded!.Contains("2001", StringComparison.Ordinal) ? "2001:db8:1::5" : "203.0.113.7");
        AssertClient(exchange, client, client, "127.0.0.1");
        Assert.Equal(forwarded?.Contains("4711", StringComparison.Ordinal) == true ? 4711 : 0, (int?)exchange.Entry["client"]!["port"]);
        Assert.Equal("default/allow:allow.test/:Prefix", exchange.Rule);
    }

    [Theory]
    [InlineData("192.0.2.10")]
    [InlineData("2001:db8:9::1")]
    public async Task Allow_list_refuses_a_forwarded_client_out_of_range(string client)
    {
        var exchange = await Gateway.SendAsync("http://allow.test/x", new Send { XForwardedFor = client });

        AssertDenied(exchange, HttpStatusCode.Forbidden, "default/allow:allow-source-range", $"client {client} is not in an allowed range");
        AssertClient(exchange, client, client, "127.0.0.1");
        Assert.Equal("default/allow:allow.test/:Prefix", (string?)exchange.Entry["route"]!["id"]);
    }

    [Theory]
    [InlineData("203.0.113.99", "default/deny:deny-source-range:203.0.113.0/24")]
    [InlineData("2001:db8:2::abcd", "default/deny:deny-source-range:2001:db8:2::/64")]
    public async Task Deny_list_refuses_a_forwarded_client_in_range_with_the_range_in_the_rule(string client, string rule)
    {
        var exchange = await Gateway.SendAsync("http://deny.test/x", new Send { XForwardedFor = client });

        AssertDenied(exchange, HttpStatusCode.Forbidden, rule, $"client {client} is in a denied range");
        AssertClient(exchange, client, client, "127.0.0.1");
    }

    [Theory]
    [InlineData("192.0.2.10")]
    [InlineData("2001:db8:1::5")]
    public async Task Deny_list_admits_a_client_out_of_range(string client)
    {
        AssertAllowed(await Gateway.SendAsync("http://deny.test/x", new Send { XForwardedFor = client }), "app");
    }

    [Fact]
    public async Task Nginx_whitelist_annotation_keeps_its_meaning()
    {
        AssertAllowed(await Gateway.SendAsync("http://nginx.test/", new Send { XForwardedFor = "203.0.113.1" }), "app");
        var denied = await Gateway.SendAsync("http://nginx.test/", new Send { XForwardedFor = "192.0.2.1" });
        AssertDenied(denied, HttpStatusCode.Forbidden, "default/nginx:allow-source-range");
    }

    [Theory]
    [InlineData("198.51.100.20", "config:policy.denySourceRange:198.51.100.0/24")]
    [InlineData("2001:db8:bad::1", "config:policy.denySourceRange:2001:db8:bad::/48")]
    public async Task Global_deny_list_applies_to_every_route(string client, string rule)
    {
        var exchange = await Gateway.SendAsync("http://open.test/", new Send { XForwardedFor = client });
        AssertDenied(exchange, HttpStatusCode.Forbidden, rule, "is in a denied range");
        AssertClient(exchange, client, client, "127.0.0.1");
    }

    [Fact]
    public async Task Global_allow_list_refuses_clients_outside_it_even_without_a_route()
    {
        var routed = await Gateway.SendAsync("http://open.test/", new Send { XForwardedFor = "100.64.0.1" });
        AssertDenied(routed, HttpStatusCode.Forbidden, "config:policy.allowSourceRange", "client 100.64.0.1 is not in an allowed range");

        var routeless = await Gateway.SendAsync("http://nowhere.test/", new Send { XForwardedFor = "100.64.0.1" });
        AssertDenied(routeless, HttpStatusCode.Forbidden, "config:policy.allowSourceRange");
    }

    [Fact]
    public async Task Chain_is_walked_right_to_left_through_trusted_hops_and_the_spoofed_left_part_is_ignored()
    {
        // The client wrote 203.0.113.7 itself; 192.0.2.55 is what the first trusted proxy (10.1.2.3) saw.
        var exchange = await Gateway.SendAsync("http://allow.test/", new Send { XForwardedFor = "203.0.113.7, 192.0.2.55, 10.1.2.3" });

        AssertDenied(exchange, HttpStatusCode.Forbidden, "default/allow:allow-source-range", "client 192.0.2.55 ");
        AssertClient(exchange, "192.0.2.55", "192.0.2.55", "10.1.2.3", "127.0.0.1");
    }

    [Fact]
    public async Task Without_a_forwarded_header_the_trusted_peer_is_the_client()
    {
        var exchange = await Gateway.SendAsync("http://allow.test/");
        AssertDenied(exchange, HttpStatusCode.Forbidden, "default/allow:allow-source-range", "client 127.0.0.1 ");
        AssertClient(exchange, "127.0.0.1");
    }

    [Fact]
    public async Task Forwarded_headers_from_an_untrusted_IPv4_peer_are_ignored()
    {
        // 127.0.0.2 is a loopback address but not in identity.trustedProxies.
        var untrusted = Gateway.CreateClient(null, IPAddress.Parse("127.0.0.2"));

        var allow = await Gateway.SendAsync("http://allow.test/", new Send { Client = untrusted, XForwardedFor = "203.0.113.7", Forwarded = "for=203.0.113.7" });
        AssertDenied(allow, HttpStatusCode.Forbidden, "default/allow:allow-source-range", "client 127.0.0.2 ");
        AssertClient(allow, "127.0.0.2");

        var deny = await Gateway.SendAsync("http://deny.test/", new Send { Client = untrusted, XForwardedFor = "203.0.113.7" });
        AssertAllowed(deny, "app");
        AssertClient(deny, "127.0.0.2");
    }
}

/// <summary>The gateway on <c>[::1]</c> with only 127.0.0.1 trusted: an IPv6 peer whose forwarded headers are not believed.</summary>
public sealed class PolicyUntrustedIPv6PeerTests(PolicyUntrustedIPv6PeerTests.Ipv6Gateway fixture) : IClassFixture<PolicyUntrustedIPv6PeerTests.Ipv6Gateway>
{
    private TestGateway Gateway => fixture.Gateway;

    [Fact]
    public async Task Forwarded_headers_from_an_untrusted_IPv6_peer_are_ignored()
    {
        var allow = await Gateway.SendAsync("http://allow.test/", new Send { XForwardedFor = "203.0.113.7", Forwarded = "for=\"[2001:db8:1::1]\"" });
        AssertDenied(allow, HttpStatusCode.Forbidden, "default/allow:allow-source-range", "client ::1 is not in an allowed range");
        AssertClient(allow, "::1");

        var deny = await Gateway.SendAsync("http://deny.test/", new Send { XForwardedFor = "203.0.113.7" });
        AssertAllowed(deny, "app");
        AssertClient(deny, "::1");
    }

    [Fact]
    public async Task An_IPv6_peer_in_an_IPv6_range_is_matched()
    {
        AssertAllowed(await Gateway.SendAsync("http://loopback6.test/"), "app");
        var denied = await Gateway.SendAsync("http://deny6.test/");
        AssertDenied(denied, HttpStatusCode.Forbidden, "default/deny6:deny-source-range:::1/128", "client ::1 is in a denied range");
    }

    public sealed class Ipv6Gateway : SharedGateway
    {
        private protected override string[] Backends => ["app"];

        private protected override TestGateway CreateGateway() =>
            new() { ListenOnIPv6 = true, ConfigYaml = "identity:\n  trustedProxies: [127.0.0.1/32]\n" };

        private protected override void WriteManifests(TestGateway gateway)
        {
            HostRule Host(string name) => new($"{name}.test", new PathRule("/", "Prefix", "app", 80));
            gateway.WriteManifest("app.yaml", Manifests.Documents(
                gateway.ServiceFor("app"),
                Manifests.Ingress("allow", [Host("allow")], annotations: new Dictionary<string, string> { ["auditgateway.io/allow-source-range"] = "203.0.113.0/24" }),
                Manifests.Ingress("deny", [Host("deny")], annotations: new Dictionary<string, string> { ["auditgateway.io/deny-source-range"] = "203.0.113.0/24" }),
                Manifests.Ingress("loopback6", [Host("loopback6")], annotations: new Dictionary<string, string> { ["auditgateway.io/allow-source-range"] = "::1/128" }),
                Manifests.Ingress("deny6", [Host("deny6")], annotations: new Dictionary<string, string> { ["auditgateway.io/deny-source-range"] = "::1/128" })));
        }
    }
}
