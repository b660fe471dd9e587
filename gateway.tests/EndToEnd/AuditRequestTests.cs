using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// Issue 3, item 8: one <c>request</c> entry per request, with every docs/audit-log.md field right,
/// for a forwarded request, the gateway's own 404 and 503, HTTPS, query redaction, and never a
/// credential in the log.
/// </summary>
public sealed class AuditRequestTests(AuditRequestTests.App fixture) : IClassFixture<AuditRequestTests.App>
{
    private const string AppRoute = "default/app:app.test/:Prefix";
    private const string DownRoute = "default/app:app.test/down:Prefix";

    private TestGateway Gateway => fixture.Gateway;

    [Fact]
    public async Task A_forwarded_POST_records_route_destination_revision_bytes_and_latencies()
    {
        var agent = Agent();
        var payload = new string('x', 1234);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("http://app.test/orders/7?page=2"))
        {
            Content = new StringContent(payload, Encoding.ASCII, "text/plain"),
        };
        request.Headers.UserAgent.ParseAdd(agent);
        using var response = await Gateway.Client.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var echo = JsonSerializer.Deserialize(body, AuditGateway.Demo.EchoJsonContext.Default.EchoReply)!;

        var entry = await RequestEntryAsync(agent);
        var r = entry.Body();
        Assert.Equal(echo.Headers["x-request-id"], r.GetProperty("id").GetString());
        Assert.Equal("POST", r.GetProperty("method").GetString());
        Assert.Equal("http", r.GetProperty("scheme").GetString());
        Assert.Equal("app.test", r.GetProperty("host").GetString());
        Assert.Equal("/orders/7", r.GetProperty("path").GetString());
        Assert.Equal("page=2", r.GetProperty("query").GetString());
        Assert.Equal("HTTP/1.1", r.GetProperty("protocol").GetString());
        Assert.Equal("127.0.0.1", r.GetProperty("client").GetProperty("ip").GetString());
        Assert.InRange(r.GetProperty("client").GetProperty("port").GetInt32(), 1, 65535);
        Assert.Empty(r.GetProperty("forwarded").EnumerateArray());
        Assert.Equal(agent, r.GetProperty("userAgent").GetString());
        AssertAnonymous(r);
        AssertRoute(r, AppRoute, "/", "web", $"127.0.0.1:{Gateway.PortOf("web")}");
        Assert.Equal(await AuditConfigTests.RevisionAsync(Gateway), r.GetProperty("revision").GetString());
        AssertDecision(r, "allow", AppRoute);
        Assert.Equal(JsonValueKind.Null, r.GetProperty("decision").GetProperty("reason").ValueKind);
        Assert.Equal(200, r.GetProperty("status").GetInt32());
        Assert.Equal(payload.Length, r.GetProperty("bytesIn").GetInt64());
        Assert.Equal(body.Length, r.GetProperty("bytesOut").GetInt64());
        var upstream = r.GetProperty("upstreamLatencyUs").GetInt64();
        Assert.InRange(upstream, 1, r.GetProperty("latencyUs").GetInt64());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("tls").ValueKind);
        Assert.Equal(JsonValueKind.Null, r.GetProperty("upstreamError").ValueKind);
    }

    [Fact]
    public async Task A_chunked_upload_counts_its_bytes_and_a_GET_without_a_body_counts_none()
    {
        var agent = Agent();
        var payload = Encoding.ASCII.GetBytes(new string('y', 4321));
        using (var upload = new HttpRequestMessage(HttpMethod.Put, new Uri("http://app.test/chunked"))
        {
            Content = new StreamContent(new MemoryStream(payload)),
        })
        {
            upload.Headers.TransferEncodingChunked = true;
            upload.Headers.UserAgent.ParseAdd(agent);
            using var response = await Gateway.Client.SendAsync(upload);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var chunked = (await RequestEntryAsync(agent)).Body();
        Assert.Equal("PUT", chunked.GetProperty("method").GetString());
        Assert.Equal(payload.Length, chunked.GetProperty("bytesIn").GetInt64());

        var getAgent = Agent();
        var (status, body) = await SendAsync("http://app.test/plain", getAgent);
        Assert.Equal(200, status);
        var get = (await RequestEntryAsync(getAgent)).Body();
        Assert.Equal(0, get.GetProperty("bytesIn").GetInt64());
        Assert.Equal(body.Length, get.GetProperty("bytesOut").GetInt64());
    }

    [Fact]
    public async Task A_request_matching_no_route_is_audited_with_a_null_route_and_the_no_route_rule()
    {
        var agent = Agent();
        var (status, body) = await SendAsync("http://nowhere.test/a/b", agent);
        Assert.Equal(404, status);

        var r = (await RequestEntryAsync(agent)).Body();
        Assert.Equal(JsonValueKind.Null, r.GetProperty("route").ValueKind);
        AssertDecision(r, "allow", "no-route");
        Assert.Equal("no route matches this host and path", r.GetProperty("decision").GetProperty("reason").GetString());
        Assert.Equal(404, r.GetProperty("status").GetInt32());
        Assert.Equal("nowhere.test", r.GetProperty("host").GetString());
        Assert.Equal("/a/b", r.GetProperty("path").GetString());
        Assert.Equal(body.Length, r.GetProperty("bytesOut").GetInt64());
        Assert.Equal(0, r.GetProperty("bytesIn").GetInt64());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("upstreamLatencyUs").ValueKind);
        Assert.Equal(Gateway.Table.Revision, r.GetProperty("revision").GetString());
    }

    [Fact]
    public async Task A_route_without_endpoints_is_a_503_with_its_route_and_no_destination()
    {
        var agent = Agent();
        var (status, body) = await SendAsync("http://app.test/down/x", agent);
        Assert.Equal(503, status);

        var r = (await RequestEntryAsync(agent)).Body();
        AssertRoute(r, DownRoute, "/down", "down", destination: null);
        Assert.Equal("service default/down has no ready endpoints", r.GetProperty("upstreamError").GetString());
        Assert.Equal(503, r.GetProperty("status").GetInt32());
        Assert.Equal(body.Length, r.GetProperty("bytesOut").GetInt64());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("upstreamLatencyUs").ValueKind);
        Assert.True(r.GetProperty("latencyUs").GetInt64() > 0);
    }

    [Fact]
    public async Task An_HTTPS_request_records_the_SNI_and_TLS_version()
    {
        var agent = Agent();
        var (status, _) = await SendAsync("https://app.test/secure", agent);
        Assert.Equal(200, status);

        var r = (await RequestEntryAsync(agent)).Body();
        Assert.Equal("https", r.GetProperty("scheme").GetString());
        Assert.Equal("app.test", r.GetProperty("tls").GetProperty("sni").GetString());
        Assert.Contains(r.GetProperty("tls").GetProperty("version").GetString(), (string[])["TLSv1.2", "TLSv1.3"]);
        AssertRoute(r, AppRoute, "/", "web", $"127.0.0.1:{Gateway.PortOf("web")}");
    }

    [Fact]
    public async Task Query_values_named_by_the_defaults_or_the_route_annotation_are_redacted_the_rest_kept()
    {
        const string Query = "token=t0k3n&page=2&session=s3ss&Access_Token=at&code=c0de&sort=asc&flag";
        var agent = Agent();
        await SendAsync("http://app.test/search?" + Query, agent);
        var r = (await RequestEntryAsync(agent)).Body();
        Assert.Equal("token=REDACTED&page=2&session=REDACTED&Access_Token=REDACTED&code=REDACTED&sort=asc&flag", r.GetProperty("query").GetString());

        // 'session' is only named by app's annotation: another route keeps it.
        var other = Agent();
        await SendAsync("http://other.test/search?" + Query, other);
        var o = (await RequestEntryAsync(other)).Body();
        Assert.Equal("token=REDACTED&page=2&session=s3ss&Access_Token=REDACTED&code=REDACTED&sort=asc&flag", o.GetProperty("query").GetString());
    }

    [Fact]
    public async Task A_direct_client_has_an_empty_forwarded_chain_and_its_own_address_and_port()
    {
        var agent = Agent();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Gateway.App.Ports.Http!.Value);
        var local = (IPEndPoint)tcp.Client.LocalEndPoint!;
        var stream = tcp.GetStream();
        // A client claiming to be forwarded is not a trusted proxy: its headers are not the chain.
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET /direct HTTP/1.1\r\nHost: app.test\r\nUser-Agent: {agent}\r\nX-Forwarded-For: 203.0.113.9, 198.51.100.7\r\nForwarded: for=192.0.2.1\r\nConnection: close\r\n\r\n"));
        using (var reader = new StreamReader(stream))
        {
            Assert.StartsWith("HTTP/1.1 200", await reader.ReadLineAsync(), StringComparison.Ordinal);
            await reader.ReadToEndAsync();
        }

        var r = (await RequestEntryAsync(agent)).Body();
        Assert.Equal("127.0.0.1", r.GetProperty("client").GetProperty("ip").GetString());
        Assert.Equal(local.Port, r.GetProperty("client").GetProperty("port").GetInt32());
        Assert.Empty(r.GetProperty("forwarded").EnumerateArray());
    }

    [Fact]
    public async Task Every_request_is_exactly_one_entry()
    {
        var agent = Agent();
        string[] urls = ["http://app.test/a", "http://nowhere.test/", "http://app.test/down", "https://app.test/b", "http://other.test/c"];
        var statuses = new List<int>();
        foreach (var url in urls.Concat(urls))
        {
            statuses.Add((await SendAsync(url, agent)).Status);
        }

        await Eventually.TrueAsync(() => EntriesOf(agent).Count >= statuses.Count, TestGateway.Timeout, "an entry for every request");
        // A later request's entry is durable: any duplicate of the earlier ones would be too.
        var marker = Agent();
        await SendAsync("http://app.test/marker", marker);
        await RequestEntryAsync(marker);

        var entries = EntriesOf(agent);
        Assert.Equal(statuses, entries.Select(e => e.Body().GetProperty("status").GetInt32()));
        Assert.Equal(entries.Count, entries.Select(e => e.Body().GetProperty("id").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task No_Authorization_or_Cookie_value_ever_reaches_the_log()
    {
        var secret = "s3cr3t-" + Guid.NewGuid().ToString("N");
        var agent = Agent();
        foreach (var url in (string[])["http://app.test/private", "http://nowhere.test/private", "https://app.test/private", "http://app.test/down"])
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(url));
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "bearer-" + secret);
            request.Headers.Add("Cookie", "sid=cookie-" + secret);
            request.Headers.Add("Proxy-Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("u:" + secret)));
            request.Headers.UserAgent.ParseAdd(agent);
            using var response = await Gateway.Client.SendAsync(request);
        }

        await Eventually.TrueAsync(() => EntriesOf(agent).Count == 4, TestGateway.Timeout, "the four entries");
        var everything = AuditLogFiles.AllText(Gateway.DataDirectory);
        Assert.DoesNotContain(secret, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes("u:" + secret)), everything, StringComparison.Ordinal);
    }

    private static string Agent() => "audit-e2e/" + Guid.NewGuid().ToString("N");

    private async Task<(int Status, byte[] Body)> SendAsync(string url, string agent)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(url));
        request.Headers.UserAgent.ParseAdd(agent);
        using var response = await Gateway.Client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync());
    }

    private List<JsonElement> EntriesOf(string agent) =>
        [.. Gateway.AuditEntries().Where(e => e.Kind() == "request" && e.Body().GetProperty("userAgent").GetString() == agent)];

    private Task<JsonElement> RequestEntryAsync(string agent) =>
        Gateway.WaitForAuditAsync(e => e.Kind() == "request" && e.Body().GetProperty("userAgent").GetString() == agent, "the request entry of " + agent);

    private static void AssertAnonymous(JsonElement r)
    {
        var identity = r.GetProperty("identity");
        Assert.False(identity.GetProperty("authenticated").GetBoolean());
        foreach (var name in (string[])["subject", "issuer", "audience", "clientId"])
        {
            Assert.Equal(JsonValueKind.Null, identity.GetProperty(name).ValueKind);
        }
    }

    private static void AssertRoute(JsonElement r, string id, string path, string service, string? destination)
    {
        var route = r.GetProperty("route");
        Assert.Equal(id, route.GetProperty("id").GetString());
        Assert.Equal(Manifests.Namespace, route.GetProperty("namespace").GetString());
        Assert.Equal("app", route.GetProperty("ingress").GetString());
        Assert.Equal(path, route.GetProperty("path").GetString());
        Assert.Equal("Prefix", route.GetProperty("pathType").GetString());
        Assert.Equal(service, route.GetProperty("service").GetString());
        Assert.Equal("80", route.GetProperty("port").GetString());
        Assert.Equal(destination, route.GetProperty("destination").GetString());
    }

    private static void AssertDecision(JsonElement r, string decision, string rule)
    {
        var d = r.GetProperty("decision");
        Assert.Equal(decision, d.GetProperty("decision").GetString());
        Assert.Equal(rule, d.GetProperty("rule").GetString());
    }

    public sealed class App : SharedGateway
    {
        private protected override string[] Backends => ["web", "down"];

        private protected override void WriteManifests(TestGateway gateway) => gateway.WriteManifest("app.yaml", Manifests.Documents(
            gateway.ServiceFor("web"),
            gateway.ServiceFor("down", ready: false),
            Manifests.Ingress(
                "app",
                [new HostRule("app.test", new PathRule("/", "Prefix", "web", 80), new PathRule("/down", "Prefix", "down", 80))],
                annotations: new Dictionary<string, string> { ["auditgateway.io/redact-query"] = "session" }),
            Manifests.Ingress("other", [new HostRule("other.test", new PathRule("/", "Prefix", "web", 80))])));
    }
}

/// <summary>The default backend serves what no rule matches; docs/annotations.md has such a request audited with <c>route: null</c>.</summary>
public sealed class AuditDefaultBackendTests
{
    [Fact]
    public async Task A_request_served_by_the_default_backend_is_audited_with_a_null_route()
    {
        await using var gateway = await TestGateway.StartAsync(["fallback"], g => g.WriteManifest("fallback.yaml", Manifests.Documents(
            g.ServiceFor("fallback"),
            Manifests.Ingress("catch-all", defaultBackend: ("fallback", 80)))));
        Assert.Equal("fallback", await gateway.ServedByAsync("http://unknown.test/anything"));

        var entry = await gateway.WaitForAuditAsync(e => e.Kind() == "request" && e.Body().GetProperty("path").GetString() == "/anything", "the request entry");
        var r = entry.Body();
        Assert.Equal(JsonValueKind.Null, r.GetProperty("route").ValueKind);
        Assert.Equal(200, r.GetProperty("status").GetInt32());
        Assert.Equal("allow", r.GetProperty("decision").GetProperty("decision").GetString());
        Assert.True(r.GetProperty("upstreamLatencyUs").GetInt64() > 0);
        Assert.Equal(gateway.Table.Revision, r.GetProperty("revision").GetString());
    }
}
