using System.Net;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Policy.Identity;

using static AuditGateway.Tests.EndToEnd.PolicyTestKit;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// JWT authentication, claims, methods, rate limits and report-only mode end to end: the status
/// and challenge the client gets, that a denied request never reaches the backend, and the audit
/// entry (decision, rule, reason, identity; never the token, the Authorization header or cookies).
/// </summary>
public sealed class PolicyIdentityTests(PolicyGateway fixture) : IClassFixture<PolicyGateway>
{
    private TestGateway Gateway => fixture.Gateway;

    [Fact]
    public async Task Valid_RS256_token_from_a_keys_file_passes_and_its_identity_is_audited_without_the_token()
    {
        var token = PolicyGateway.Token(claims: new Dictionary<string, object> { ["azp"] = "shop-web", ["scope"] = "orders:read", ["email"] = "alice@example.com" });
        var exchange = await Gateway.SendAsync("http://jwt.test/orders", new Send { Bearer = token, Cookie = "session=cookie-secret-42", XForwardedFor = "203.0.113.5" });

        AssertAllowed(exchange, "app");
        var identity = exchange.Identity;
        Assert.True((bool?)identity["authenticated"]);
        Assert.Equal("alice", (string?)identity["subject"]);
        Assert.Equal(Tokens.Issuer, (string?)identity["issuer"]);
        Assert.Equal(Tokens.Audience, (string?)identity["audience"]);
        Assert.Equal("shop-web", (string?)identity["clientId"]);
        Assert.Equal("orders:read", (string?)identity["claims"]!["scope"]![0]);
        Assert.Null(identity["claims"]!["email"]);
        AssertClient(exchange, "203.0.113.5", "203.0.113.5", "127.0.0.1");

        var log = Gateway.AuditText();
        Assert.DoesNotContain(token, log, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Split('.')[2], log, StringComparison.Ordinal);
        Assert.DoesNotContain("cookie-secret-42", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Bearer", log, StringComparison.Ordinal);
        Assert.DoesNotContain("alice@example.com", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Valid_ES256_token_from_a_JWKS_uri_passes()
    {
        var token = PolicyGateway.Token(PolicyGateway.Ec, PolicyGateway.EcIssuer, subject: "bob");
        var exchange = await Gateway.SendAsync("http://jwt.test/", new Send { Bearer = token });

        AssertAllowed(exchange, "app");
        Assert.Equal("bob", (string?)exchange.Identity["subject"]);
        Assert.Equal(PolicyGateway.EcIssuer, (string?)exchange.Identity["issuer"]);
    }

    public static TheoryData<string, string, string> BadTokens() => new()
    {
        { "expired", PolicyGateway.Token(age: TimeSpan.FromMinutes(10)), "invalid_token" },
        { "wrong-issuer", PolicyGateway.Token(issuer: "https://evil.example/"), "invalid_token" },
        { "wrong-audience", PolicyGateway.Token(audience: "api://other"), "invalid_token" },
        { "bad-signature", PolicyGateway.Token(PolicyGateway.Impostor), "invalid_token" },
        { "alg-none", Tokens.Raw("{\"alg\":\"none\",\"typ\":\"JWT\"}", Tokens.Payload(DateTimeOffset.UtcNow)), "invalid_token" },
        { "malformed", "not.a.jwt", "invalid_token" },
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Bad_token_gets_401_with_an_error_description_and_the_reason_is_audited(string code, string token, string error)
    {
        var exchange = await Gateway.SendAsync("http://jwt.test/", new Send { Bearer = token });

        AssertDenied(exchange, HttpStatusCode.Unauthorized, "default/jwt:auth:jwt");
        Assert.StartsWith(code + ": ", exchange.Reason, StringComparison.Ordinal);
        var challenge = exchange.Header("WWW-Authenticate");
        Assert.StartsWith("Bearer", challenge, StringComparison.Ordinal);
        Assert.Contains($"error=\"{error}\"", challenge, StringComparison.Ordinal);
        Assert.Contains("error_description=\"", challenge, StringComparison.Ordinal);
        Assert.False((bool?)exchange.Identity["authenticated"]);
        Assert.DoesNotContain(token, Gateway.AuditText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_token_gets_401_with_a_bare_challenge()
    {
        var exchange = await Gateway.SendAsync("http://jwt.test/");

        AssertDenied(exchange, HttpStatusCode.Unauthorized, "default/jwt:auth:jwt");
        Assert.StartsWith("missing: ", exchange.Reason, StringComparison.Ordinal);
        Assert.StartsWith("Bearer", exchange.Header("WWW-Authenticate"), StringComparison.Ordinal);
        Assert.DoesNotContain("error=", exchange.Header("WWW-Authenticate"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Required_claim_present_passes_and_absent_gets_403_insufficient_scope()
    {
        var good = PolicyGateway.Token(claims: new Dictionary<string, object> { ["scope"] = "orders:read orders:write" });
        AssertAllowed(await Gateway.SendAsync("http://claims.test/", new Send { Bearer = good }), "app");

        var weak = PolicyGateway.Token(claims: new Dictionary<string, object> { ["scope"] = "orders:read" }, subject: "carol");
        var exchange = await Gateway.SendAsync("http://claims.test/", new Send { Bearer = weak });
        AssertDenied(exchange, HttpStatusCode.Forbidden, "default/claims:require-claims:scope=orders:write", "claim scope does not contain orders:write");
        Assert.Contains("error=\"insufficient_scope\"", exchange.Header("WWW-Authenticate"), StringComparison.Ordinal);
        Assert.True((bool?)exchange.Identity["authenticated"]);
        Assert.Equal("carol", (string?)exchange.Identity["subject"]);

        var none = await Gateway.SendAsync("http://claims.test/");
        AssertDenied(none, HttpStatusCode.Unauthorized, "default/claims:auth:jwt");
    }

    [Fact]
    public async Task Allowed_methods_pass_and_others_get_405_with_Allow()
    {
        AssertAllowed(await Gateway.SendAsync("http://methods.test/"), "app");
        var head = await Gateway.SendAsync("http://methods.test/", new Send { Method = HttpMethod.Head });
        Assert.Equal(HttpStatusCode.OK, head.Status);
        Assert.Equal("allow", head.Outcome);

        foreach (var method in new[] { HttpMethod.Post, HttpMethod.Delete, new HttpMethod("PROPFIND") })
        {
            var exchange = await Gateway.SendAsync("http://methods.test/", new Send { Method = method });
            AssertDenied(exchange, HttpStatusCode.MethodNotAllowed, "default/methods:allowed-methods", $"method {method.Method} is not allowed");
            Assert.Equal("GET, HEAD", exchange.Header("Allow"));
        }
    }

    [Fact]
    public async Task Rate_limit_per_client_gives_429_with_Retry_After_and_refills_with_time()
    {
        var first = new Send { XForwardedFor = "203.0.113.50" };
        AssertAllowed(await Gateway.SendAsync("http://rate.test/", first), "app");
        AssertAllowed(await Gateway.SendAsync("http://rate.test/", first), "app");
        var limited = await Gateway.SendAsync("http://rate.test/", first);
        AssertDenied(limited, HttpStatusCode.TooManyRequests, "default/rate:rate-limit", "more than 2r/m by client");
        Assert.Equal("30", limited.Header("Retry-After"));

        // Another client has its own bucket.
        AssertAllowed(await Gateway.SendAsync("http://rate.test/", new Send { XForwardedFor = "203.0.113.51" }), "app");

        fixture.Clock.Advance(TimeSpan.FromSeconds(29));
        AssertDenied(await Gateway.SendAsync("http://rate.test/", first), HttpStatusCode.TooManyRequests, "default/rate:rate-limit");
        fixture.Clock.Advance(TimeSpan.FromSeconds(1));
        AssertAllowed(await Gateway.SendAsync("http://rate.test/", first), "app");
        AssertDenied(await Gateway.SendAsync("http://rate.test/", first), HttpStatusCode.TooManyRequests, "default/rate:rate-limit");
    }

    [Fact]
    public async Task Rate_limit_by_identity_follows_the_subject_across_client_addresses()
    {
        var dave = PolicyGateway.Token(subject: "dave");
        AssertAllowed(await Gateway.SendAsync("http://rateid.test/", new Send { Bearer = dave, XForwardedFor = "203.0.113.60" }), "app");
        var limited = await Gateway.SendAsync("http://rateid.test/", new Send { Bearer = dave, XForwardedFor = "203.0.113.61" });
        AssertDenied(limited, HttpStatusCode.TooManyRequests, "default/rateid:rate-limit", "more than 1r/m by identity");
        Assert.Equal("dave", (string?)limited.Identity["subject"]);

        var erin = PolicyGateway.Token(subject: "erin");
        AssertAllowed(await Gateway.SendAsync("http://rateid.test/", new Send { Bearer = erin, XForwardedFor = "203.0.113.60" }), "app");
    }

    [Fact]
    public async Task Report_only_lets_a_would_be_denied_request_through_and_audits_would_deny()
    {
        var outsider = await Gateway.SendAsync("http://report.test/", new Send { XForwardedFor = "192.0.2.77" });
        Assert.Equal(HttpStatusCode.OK, outsider.Status);
        Assert.Equal("app", outsider.Backend);
        Assert.Equal("would-deny", outsider.Outcome);
        Assert.Equal("default/report:allow-source-range", outsider.Rule);
        Assert.Equal("client 192.0.2.77 is not in an allowed range", outsider.Reason);
        Assert.Equal(200, (int?)outsider.Entry["status"]);

        var post = await Gateway.SendAsync("http://report.test/", new Send { XForwardedFor = "203.0.113.77", Method = HttpMethod.Post });
        Assert.Equal("app", post.Backend);
        Assert.Equal("would-deny", post.Outcome);
        Assert.Equal("default/report:allowed-methods", post.Rule);

        var fine = await Gateway.SendAsync("http://report.test/", new Send { XForwardedFor = "203.0.113.77" });
        AssertAllowed(fine, "app");

        // The global lists always enforce, report-only or not.
        var global = await Gateway.SendAsync("http://report.test/", new Send { XForwardedFor = "198.51.100.1" });
        AssertDenied(global, HttpStatusCode.Forbidden, "config:policy.denySourceRange:198.51.100.0/24");
    }

    [Fact]
    public async Task Every_denial_carries_the_revision_and_the_route_it_was_made_on()
    {
        var exchange = await Gateway.SendAsync("http://jwt.test/deep/path?token=abc&x=1");
        AssertDenied(exchange, HttpStatusCode.Unauthorized, "default/jwt:auth:jwt");
        Assert.Equal(Gateway.Table.Revision, (string?)exchange.Entry["revision"]);
        Assert.Equal("default/jwt:jwt.test/:Prefix", (string?)exchange.Entry["route"]!["id"]);
        Assert.Equal("/deep/path", (string?)exchange.Entry["path"]);
        Assert.Equal("token=REDACTED&x=1", (string?)exchange.Entry["query"]);
        Assert.Null(exchange.Entry["route"]!["destination"]);
        Assert.Null(exchange.Entry["upstreamLatencyUs"]);
    }
}
