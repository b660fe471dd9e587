using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AuditGateway.Tests.Common;

using static AuditGateway.Tests.EndToEnd.PolicyTestKit;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// Probe detection end to end: a scanning client is blocked before routing while other clients
/// are not; blocks expire after <c>blockFor</c> (fake clock); the admin API lists and lifts them,
/// with auditor/operator roles; every block and unblock is a <c>security</c> entry naming who or what.
/// </summary>
public sealed class PolicyBlockTests(PolicyBlockTests.BlockingGateway fixture) : IClassFixture<PolicyBlockTests.BlockingGateway>
{
    private const string AuditorToken = "auditor-token-7f3c";
    private const string OperatorToken = "operator-token-91ab";

    private TestGateway Gateway => fixture.Gateway;

    private static Send From(string ip) => new() { XForwardedFor = ip };

    [Fact]
    public async Task Probe_path_blocks_the_scanner_before_routing_while_another_client_is_unaffected()
    {
        var probe = await Gateway.SendAsync("http://scan.test/.env", From("203.0.113.10"));
        Assert.Equal(HttpStatusCode.NotFound, probe.Status);
        Assert.Equal("no-route", probe.Rule);

        var security = await SecurityEntryAsync("blocked", "203.0.113.10");
        Assert.Equal("probe-path", (string?)security["by"]);
        Assert.Contains("/.env", (string?)security["evidence"]!["evidence"], StringComparison.Ordinal);
        Assert.Equal(fixture.Clock.GetUtcNow() + TimeSpan.FromMinutes(10), DateTimeOffset.Parse((string)security["until"]!, System.Globalization.CultureInfo.InvariantCulture));

        var blocked = await Gateway.SendAsync("http://site.test/", From("203.0.113.10"));
        AssertDenied(blocked, HttpStatusCode.Forbidden, "probe-block");
        Assert.StartsWith("client blocked by probe-path until ", blocked.Reason, StringComparison.Ordinal);
        Assert.Equal("this client is blocked", TestGateway.Reason(blocked.Response));
        AssertClient(blocked, "203.0.113.10", "203.0.113.10", "127.0.0.1");
        Assert.Null(blocked.Entry["route"]);

        AssertAllowed(await Gateway.SendAsync("http://site.test/", From("203.0.113.11")), "app");
    }

    [Fact]
    public async Task Too_many_not_found_requests_in_a_minute_block_the_client()
    {
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await Gateway.SendAsync($"http://nowhere.test/page{i}", From("203.0.113.20"))).Status);
            fixture.Clock.Advance(TimeSpan.FromSeconds(5));
        }

        AssertAllowed(await Gateway.SendAsync("http://site.test/", From("203.0.113.20")), "app");
        Assert.Equal(HttpStatusCode.NotFound, (await Gateway.SendAsync("http://nowhere.test/page4", From("203.0.113.20"))).Status);

        var security = await SecurityEntryAsync("blocked", "203.0.113.20");
        Assert.Equal("not-found-rate", (string?)security["by"]);
        Assert.Contains("page4", (string?)security["evidence"]!["evidence"], StringComparison.Ordinal);
        AssertDenied(await Gateway.SendAsync("http://site.test/", From("203.0.113.20")), HttpStatusCode.Forbidden, "probe-block");
        AssertAllowed(await Gateway.SendAsync("http://site.test/", From("203.0.113.21")), "app");
    }

    [Fact]
    public async Task Not_found_requests_spread_over_more_than_a_minute_do_not_block()
    {
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await Gateway.SendAsync($"http://nowhere.test/slow{i}", From("203.0.113.25"))).Status);
            fixture.Clock.Advance(TimeSpan.FromSeconds(16));
        }

        AssertAllowed(await Gateway.SendAsync("http://site.test/", From("203.0.113.25")), "app");
    }

    [Fact]
    public async Task Too_many_denied_requests_block_the_client()
    {
        for (var i = 0; i < 4; i++)
        {
            var denied = await Gateway.SendAsync("http://methods.test/", From("203.0.113.30") with { Method = HttpMethod.Post });
            AssertDenied(denied, HttpStatusCode.MethodNotAllowed, "default/methods:allowed-methods");
        }

        var security = await SecurityEntryAsync("blocked", "203.0.113.30");
        Assert.Equal("denied-rate", (string?)security["by"]);
        AssertDenied(await Gateway.SendAsync("http://methods.test/", From("203.0.113.30")), HttpStatusCode.Forbidden, "probe-block");
    }

    [Fact]
    public async Task Block_expires_after_blockFor_and_the_expiry_is_audited()
    {
        await Gateway.SendAsync("http://scan.test/wp-login.php", From("2001:db8:5::1"));
        await SecurityEntryAsync("blocked", "2001:db8:5::1");

        fixture.Clock.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        AssertDenied(await Gateway.SendAsync("http://site.test/", From("2001:db8:5::1")), HttpStatusCode.Forbidden, "probe-block");

        fixture.Clock.Advance(TimeSpan.FromSeconds(1));
        AssertAllowed(await Gateway.SendAsync("http://site.test/", From("2001:db8:5::1")), "app");
        var unblocked = await SecurityEntryAsync("unblocked", "2001:db8:5::1");
        Assert.Equal("expired", (string?)unblocked["by"]);
    }

    [Fact]
    public async Task Admin_lists_blocks_and_an_operator_lifts_one_which_is_audited_with_who_did_it()
    {
        await Gateway.SendAsync("http://scan.test/.git/config", From("203.0.113.40"));
        await SecurityEntryAsync("blocked", "203.0.113.40");

        using var list = await AdminAsync(HttpMethod.Get, "/api/blocks", AuditorToken);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var blocks = JsonNode.Parse(await list.Content.ReadAsStringAsync())!.AsArray();
        var block = Assert.Single(blocks, b => (string?)b!["address"] == "203.0.113.40")!;
        Assert.Equal("probe-path", (string?)block["detector"]);
        Assert.Contains("/.git/", (string?)block["evidence"], StringComparison.Ordinal);

        using (var auditor = await AdminAsync(HttpMethod.Delete, "/api/blocks/203.0.113.40", AuditorToken))
        {
            Assert.Equal(HttpStatusCode.Forbidden, auditor.StatusCode);
        }

        AssertDenied(await Gateway.SendAsync("http://site.test/", From("203.0.113.40")), HttpStatusCode.Forbidden, "probe-block");

        using (var operatorDelete = await AdminAsync(HttpMethod.Delete, "/api/blocks/203.0.113.40", OperatorToken))
        {
            Assert.Equal(HttpStatusCode.NoContent, operatorDelete.StatusCode);
        }

        var unblocked = await SecurityEntryAsync("unblocked", "203.0.113.40");
        Assert.Equal("admin:bob-operator", (string?)unblocked["by"]);
        Assert.Contains("bob-operator", (string?)unblocked["reason"], StringComparison.Ordinal);
        AssertAllowed(await Gateway.SendAsync("http://site.test/", From("203.0.113.40")), "app");

        using (var again = await AdminAsync(HttpMethod.Delete, "/api/blocks/203.0.113.40", OperatorToken))
        {
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        }

        using var bad = await AdminAsync(HttpMethod.Delete, "/api/blocks/not-an-ip", OperatorToken);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.DoesNotContain(OperatorToken, Gateway.AuditText(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-token")]
    [InlineData("")]
    public async Task Admin_api_without_a_valid_token_is_401(string? token)
    {
        using var get = await AdminAsync(HttpMethod.Get, "/api/blocks", token);
        Assert.Equal(HttpStatusCode.Unauthorized, get.StatusCode);
        Assert.StartsWith("Bearer", get.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        using var delete = await AdminAsync(HttpMethod.Delete, "/api/blocks/203.0.113.99", token);
        Assert.Equal(HttpStatusCode.Unauthorized, delete.StatusCode);
    }

    [Fact]
    public async Task Auditor_reads_and_operator_reads()
    {
        using var auditor = await AdminAsync(HttpMethod.Get, "/api/routes", AuditorToken);
        Assert.Equal(HttpStatusCode.OK, auditor.StatusCode);
        using var operatorGet = await AdminAsync(HttpMethod.Get, "/api/blocks", OperatorToken);
        Assert.Equal(HttpStatusCode.OK, operatorGet.StatusCode);
    }

    private async Task<HttpResponseMessage> AdminAsync(HttpMethod method, string path, string? token)
    {
        using var request = new HttpRequestMessage(method, Gateway.AdminUri(path));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await Gateway.Client.SendAsync(request);
    }

    private Task<JsonObject> SecurityEntryAsync(string action, string subject) => Gateway.WaitForEntryAsync(
        e => (string?)e["kind"] == "security" && (string?)e["security"]!["action"] == action && (string?)e["security"]!["subject"] == subject,
        $"a security entry: {action} {subject}")
        .ContinueWith(t => t.Result["security"]!.AsObject(), TaskScheduler.Default);

    public sealed class BlockingGateway : SharedGateway
    {
        internal ManualTimeProvider Clock { get; } = new(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()));

        private protected override string[] Backends => ["app"];

        private protected override TestGateway CreateGateway()
        {
            static string Sha(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
            return new TestGateway
            {
                PolicyClock = Clock,
                ConfigYaml = $$"""
                    identity:
                      trustedProxies: [127.0.0.1/32]
                    policy:
                      probeDetection:
                        enabled: true
                        maxDeniedPerMinute: 3
                        maxNotFoundPerMinute: 4
                        blockFor: 10m
                    admin:
                      tokens:
                        - { name: alice-auditor, role: auditor, sha256: "{{Sha(AuditorToken)}}" }
                        - { name: bob-operator, role: operator, sha256: "{{Sha(OperatorToken)}}" }
                    """,
            };
        }

        private protected override void WriteManifests(TestGateway gateway) =>
            gateway.WriteManifest("app.yaml", Manifests.Documents(
                gateway.ServiceFor("app"),
                Manifests.Ingress("site", [new HostRule("site.test", new PathRule("/", "Prefix", "app", 80))]),
                Manifests.Ingress(
                    "methods",
                    [new HostRule("methods.test", new PathRule("/", "Prefix", "app", 80))],
                    annotations: new Dictionary<string, string> { ["auditgateway.io/allowed-methods"] = "GET" })));
    }
}
