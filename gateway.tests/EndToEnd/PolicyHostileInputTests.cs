using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// Hostile requests written byte by byte on a raw TCP connection: odd spellings of a path-scoped
/// denied route, oversized and too many headers, bad <c>Host</c>, absolute-form targets. The gateway
/// must not crash, must never let another spelling reach the denied route's backend, and must
/// audit every attempt.
/// </summary>
public sealed class PolicyHostileInputTests(PolicyHostileInputTests.HostileGateway fixture) : IClassFixture<PolicyHostileInputTests.HostileGateway>
{
    private TestGateway Gateway => fixture.Gateway;

    /// <summary>Spellings of <c>/admin</c> (Exact, denied to every client by deny-source-range).</summary>
    [Theory]
    [InlineData("/admin")]
    [InlineData("/ADMIN")]
    [InlineData("/Admin")]
    [InlineData("/%41DMIN")]
    [InlineData("/%61dmin")]
    [InlineData("/./admin")]
    [InlineData("/x/../admin")]
    [InlineData("/x/%2e%2e/admin")]
    [InlineData("/x/%2E%2E/admin")]
    [InlineData("/%2e/admin")]
    [InlineData("/../admin")]
    [InlineData("/%2e%2e/admin")]
    [InlineData("/ADMIN/../admin")]
    [InlineData("/admin/.")]
    [InlineData("/admin?x=1")]
    [InlineData("/admin%2F")]
    [InlineData("/admin%2f..")]
    [InlineData("/x%2F..%2Fadmin")]
    [InlineData("/x%5C..%5Cadmin")]
    [InlineData("//admin")]
    [InlineData("/x//../admin")]
    [InlineData("/admin%00")]
    [InlineData("/admin%09")]
    [InlineData("/adm%C4%B1n")]
    [InlineData("/ADM%C4%B0N")]
    [InlineData("http://hostile.test/admin")]
    [InlineData("http://hostile.test/ADMIN")]
    [InlineData("http://HOSTILE.TEST/%2e%2e/admin")]
    public async Task Another_spelling_of_a_denied_exact_path_never_reaches_its_backend(string target)
    {
        var response = await SendRawAsync($"GET {target} HTTP/1.1\r\nHost: hostile.test\r\n");

        Assert.NotEqual("admin", response.Backend);
        if (response.Backend == "app")
        {
            // Reached the catch-all route: the backend saw a path that is not /admin in any case.
            Assert.False(string.Equals(response.EchoPath, "/admin", StringComparison.OrdinalIgnoreCase), response.ToString());
        }
        else
        {
            Assert.True(response.Status is 400 or 403 or 404, response.ToString());
        }

        await AssertAuditedAsync(response);
    }

    /// <summary>Spellings of <c>/ops</c> (Prefix, only GET allowed): POST never reaches its backend.</summary>
    [Theory]
    [InlineData("/ops")]
    [InlineData("/OPS")]
    [InlineData("/Ops/x")]
    [InlineData("/%6fps")]
    [InlineData("/x/../ops/run")]
    [InlineData("/x/%2e%2e/OPS/run")]
    [InlineData("http://hostile.test/ops/run")]
    public async Task Another_spelling_of_a_method_restricted_path_cannot_post_to_its_backend(string target)
    {
        var response = await SendRawAsync($"POST {target} HTTP/1.1\r\nHost: hostile.test\r\nContent-Length: 2\r\n", "{}");

        Assert.NotEqual("admin", response.Backend);
        if (response.Backend == "app")
        {
            Assert.False(response.EchoPath?.StartsWith("/ops", StringComparison.OrdinalIgnoreCase), response.ToString());
        }
        else
        {
            Assert.True(response.Status is 400 or 405, response.ToString());
        }

        await AssertAuditedAsync(response);
    }

    [Fact]
    public async Task GET_on_the_method_restricted_path_still_works()
    {
        var response = await SendRawAsync("GET /ops/status HTTP/1.1\r\nHost: hostile.test\r\n");
        Assert.Equal(200, response.Status);
        Assert.Equal("admin", response.Backend);
        await AssertAuditedAsync(response);
    }

    public static TheoryData<string, string> MalformedRequests() => new()
    {
        { "oversized header", $"GET / HTTP/1.1\r\nHost: hostile.test\r\nX-Big: {new string('a', 40_000)}\r\n" },
        { "oversized request line", $"GET /{new string('a', 10_000)} HTTP/1.1\r\nHost: hostile.test\r\n" },
        { "too many headers", "GET / HTTP/1.1\r\nHost: hostile.test\r\n" + string.Concat(Enumerable.Range(0, 150).Select(i => $"X-H{i}: v\r\n")) },
        { "invalid Host", "GET / HTTP/1.1\r\nHost: hostile test\r\n" },
        { "Host with a path", "GET / HTTP/1.1\r\nHost: hostile.test/admin\r\n" },
        { "two Hosts", "GET / HTTP/1.1\r\nHost: hostile.test\r\nHost: other.test\r\n" },
        { "no Host", "GET / HTTP/1.1\r\n" },
        { "absolute-form with another Host", "GET http://other.test/admin HTTP/1.1\r\nHost: hostile.test\r\n" },
        { "absolute-form with userinfo", "GET http://user@hostile.test/admin HTTP/1.1\r\nHost: hostile.test\r\n" },
        { "target without a slash", "GET admin HTTP/1.1\r\nHost: hostile.test\r\n" },
        { "control character in the target", "GET /adm\u0001in HTTP/1.1\r\nHost: hostile.test\r\n" },
        { "space in the target", "GET /adm in HTTP/1.1\r\nHost: hostile.test\r\n" },
        { "bad version", "GET /admin HTTP/9.9\r\nHost: hostile.test\r\n" },
        { "bad header name", "GET / HTTP/1.1\r\nHost: hostile.test\r\nBad Header: x\r\n" },
        { "obsolete line folding", "GET / HTTP/1.1\r\nHost: hostile.test\r\nX-Folded: a\r\n b\r\n" },
        { "CONNECT", "CONNECT hostile.test:443 HTTP/1.1\r\nHost: hostile.test:443\r\n" },
        { "asterisk-form GET", "GET * HTTP/1.1\r\nHost: hostile.test\r\n" },
    };

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task Malformed_request_is_refused_without_a_crash_and_audited(string what, string head)
    {
        var response = await SendRawAsync(head);

        Assert.True(response.Status is (>= 400 and < 500) or 505, $"{what}: {response}");
        Assert.Null(response.Backend);
        await AssertAuditedAsync(response, what);

        // The gateway still serves.
        var after = await SendRawAsync("GET /fine HTTP/1.1\r\nHost: hostile.test\r\n");
        Assert.Equal("app", after.Backend);
    }

    /// <summary>The attempt left a request entry: found by its user agent, else (Kestrel refused it) by the gateway's own refusal record.</summary>
    private async Task AssertAuditedAsync(RawResponse response, string? what = null)
    {
        // A request Kestrel refused has no user agent in its entry: it is found by the client's port.
        var entry = await Gateway.WaitForEntryAsync(
            e => (string?)e["kind"] == "request"
                && ((string?)e["request"]!["userAgent"] == response.Marker
                    || ((string?)e["request"]!["decision"]!["rule"] == "bad-request" && (int?)e["request"]!["client"]!["port"] == response.LocalPort)),
            $"an entry for {what ?? response.ToString()}");
        var request = entry["request"]!.AsObject();
        Assert.Equal(response.Status, (int?)request["status"]);
        var decision = (string?)request["decision"]!["decision"];
        Assert.Equal(response.Backend is null ? "deny" : "allow", decision);
        Assert.Equal("127.0.0.1", (string?)request["client"]!["ip"]);
    }

    /// <summary>Sends one request (head lines without the blank line, plus a user-agent marker) and reads the whole response.</summary>
    private async Task<RawResponse> SendRawAsync(string head, string body = "")
    {
        var marker = "raw-" + Guid.NewGuid().ToString("N");
        using var tcp = new TcpClient(AddressFamily.InterNetwork);
        await tcp.ConnectAsync(IPAddress.Loopback, Gateway.App.Ports.Http!.Value);
        var stream = tcp.GetStream();
        var bytes = Encoding.Latin1.GetBytes($"{head}User-Agent: {marker}\r\nConnection: close\r\n\r\n{body}");
        using var timeout = new CancellationTokenSource(TestGateway.Timeout);
        try
        {
            await stream.WriteAsync(bytes, timeout.Token);
        }
        catch (IOException)
        {
            // The server may answer and close before reading everything (431): read what it said.
        }

        var received = new MemoryStream();
        try
        {
            await stream.CopyToAsync(received, timeout.Token);
        }
        catch (IOException)
        {
            // A reset after the response is fine.
        }

        return RawResponse.Parse(Encoding.Latin1.GetString(received.ToArray()), marker) with { LocalPort = ((IPEndPoint)tcp.Client.LocalEndPoint!).Port };
    }

    private sealed record RawResponse(int Status, string? Backend, string? EchoPath, string Text, string Marker)
    {
        /// <summary>The client side port of the connection.</summary>
        public int LocalPort { get; init; }

        public static RawResponse Parse(string text, string marker)
        {
            var lines = text.Split("\r\n");
            var status = lines.Length > 0 && lines[0].Split(' ') is [_, var code, ..] && int.TryParse(code, out var n) ? n : 0;
            string? backend = null;
            foreach (var line in lines.Skip(1).TakeWhile(l => l.Length > 0))
            {
                if (line.StartsWith("X-Backend:", StringComparison.OrdinalIgnoreCase))
                {
                    backend = line[10..].Trim();
                }
            }

            string? path = null;
            var bodyStart = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (backend is not null && bodyStart >= 0)
            {
                var body = text[(bodyStart + 4)..];
                var json = body.IndexOf('{', StringComparison.Ordinal) is var start and >= 0 ? body[start..(body.LastIndexOf('}') + 1)] : "{}";
                path = (string?)JsonNode.Parse(json)?["path"];
            }

            return new RawResponse(status, backend, path, text.Length > 400 ? text[..400] : text, marker);
        }

        public override string ToString() => $"{Status} backend={Backend} path={EchoPath}: {Text}";
    }

    public sealed class HostileGateway : SharedGateway
    {
        private protected override string[] Backends => ["app", "admin"];

        private protected override void WriteManifests(TestGateway gateway)
        {
            // Every attempt here comes from 127.0.0.1: keep the probe detector from blocking the test client.
            gateway.ConfigYaml = "policy:\n  probeDetection:\n    maxDeniedPerMinute: 100000\n    maxNotFoundPerMinute: 100000\n";
            gateway.WriteManifest("hostile.yaml", Manifests.Documents(
            gateway.ServiceFor("app"),
            gateway.ServiceFor("admin"),
            Manifests.Ingress("site", [new HostRule("hostile.test", new PathRule("/", "Prefix", "app", 80))]),
            Manifests.Ingress(
                "admin",
                [new HostRule("hostile.test", new PathRule("/admin", "Exact", "admin", 80))],
                annotations: new Dictionary<string, string> { ["auditgateway.io/deny-source-range"] = "0.0.0.0/0, ::/0" }),
            Manifests.Ingress(
                "ops",
                [new HostRule("hostile.test", new PathRule("/ops", "Prefix", "admin", 80))],
                annotations: new Dictionary<string, string> { ["auditgateway.io/allowed-methods"] = "GET" })));
        }
    }
}
