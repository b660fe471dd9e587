using System.Globalization;
using System.Net;
using System.Text.Json;
using AuditGateway.Policy;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Search;

namespace AuditGateway.Tests.Demo;

/// <summary>
/// PRODUCT.md §13: <c>auditgw demo</c>, started as a newcomer starts it, shows the product — and what
/// its banner prints works when followed as printed, from the directory it was started in: the curl
/// lines answer as their comments say (the JWT route 200 with the minted token, 401 without; the
/// IP-restricted route 200 from 127.0.0.1, 403 from 127.0.0.2; the report-only route forwards and logs
/// would-deny), the prober at 127.0.0.66 is blocked without the user being, the login token opens the
/// admin API, and the report, search, verify and proof commands exit 0.
/// </summary>
public sealed class DemoTests(RunningDemo demo) : IClassFixture<RunningDemo>
{
    private static readonly IPAddress Prober = IPAddress.Parse("127.0.0.66");

    [Fact]
    public async Task The_JWT_route_answers_the_printed_curl_line_and_401_without_the_token()
    {
        var withToken = demo.Curl("/account", c => c.Headers.Any(h => h.Name == "Authorization"));
        using var allowed = await withToken.SendAsync();
        Assert.True(allowed.StatusCode == HttpStatusCode.OK, $"{withToken.Line}: {(int)allowed.StatusCode} {await allowed.Content.ReadAsStringAsync()}");
        var id = await RequestIdAsync(allowed);
        var entry = await demo.LoggedAsync(e => e.Kind() == "request" && e.Body().Text("id") == id, "the JWT request's entry");
        Assert.Equal("demo-user", entry.Body().Text("identity", "subject"));
        Assert.Equal("allow", entry.Body().Text("decision", "decision"));

        var without = demo.Curl("/account", c => c.Headers.All(h => h.Name != "Authorization"));
        using var refused = await without.SendAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("Bearer", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_printed_curl_lines_to_the_gateway_answer_as_their_comments_say()
    {
        var gatewayLines = demo.CurlLines.Where(c => !IsAdmin(c) && !AsksForProbePath(c)).ToList();
        Assert.True(gatewayLines.Count >= 10, $"only {gatewayLines.Count} curl lines to the gateway:\n{string.Join('\n', demo.Banner)}");
        foreach (var curl in gatewayLines)
        {
            using var response = await curl.SendAsync();
            Assert.True((int)response.StatusCode == (curl.AnnouncedStatus ?? 200), $"{curl.Line}: answered {(int)response.StatusCode}");
            var named = curl.Comment.Split(':', ' ', ',')[0];
            if (named is "shop-web" or "shop-api" or "vault")
            {
                Assert.True(response.Headers.TryGetValues("X-Backend", out var backend) && backend.Single() == named, $"{curl.Line}: not answered by {named}");
            }
        }

        var restricted = demo.Curl("/admin", c => c.Interface is not null);
        using var fromElsewhere = await restricted.SendAsync();
        Assert.Equal("demo/shop-admin:allow-source-range", await RuleAsync(restricted, fromElsewhere));
    }

    [Fact]
    public async Task The_report_only_route_forwards_the_request_and_logs_would_deny()
    {
        var curl = demo.Curl("/reports");
        using var response = await curl.SendAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var id = await RequestIdAsync(response);
        var entry = await demo.LoggedAsync(e => e.Kind() == "request" && e.Body().Text("id") == id, "the report-only request's entry");
        Assert.Equal("would-deny", entry.Body().Text("decision", "decision"));
        Assert.Equal("demo/shop-reports:auth:jwt", entry.Body().Text("decision", "rule"));
    }

    [Fact]
    public async Task The_prober_at_127_0_0_66_is_blocked_and_the_block_is_in_the_log_while_the_user_is_not_blocked()
    {
        using var listed = await demo.Curl("/api/blocks").SendAsync();
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        using var blocks = JsonDocument.Parse(await listed.Content.ReadAsStringAsync());
        var addresses = blocks.RootElement.EnumerateArray().Select(b => b.GetProperty("address").GetString()).ToList();
        Assert.Contains(Prober.ToString(), addresses);
        Assert.DoesNotContain("127.0.0.1", addresses);
        var block = blocks.RootElement.EnumerateArray().Single(b => b.GetProperty("address").GetString() == Prober.ToString());
        Assert.Equal("probe-path", block.GetProperty("detector").GetString());

        var logged = await demo.LoggedAsync(e => e.Kind() == "security" && e.Body().Text("subject") == Prober.ToString(), "a security entry for the prober");
        Assert.Equal("blocked", logged.Body().Text("action"));
        var probes = AuditLogFiles.ReadEntries(demo.Data).Where(e => e.Kind() == "request" && e.Body().Text("client", "ip") == Prober.ToString()).ToList();
        Assert.Contains(probes, e => e.Body().Text("decision", "rule") == "probe-block");
    }

    [Fact]
    public async Task No_printed_line_asks_for_a_probe_path_from_the_users_own_address()
    {
        var probing = demo.CurlLines.Where(AsksForProbePath).ToList();
        Assert.NotEmpty(probing);
        Assert.All(probing, c => Assert.True(c.Interface is not null && !c.Interface.Equals(IPAddress.Loopback), $"{c.Line} probes from 127.0.0.1"));

        // The printed way to try probing: it blocks the other address, and the printed DELETE lifts that block.
        var probe = Assert.Single(probing);
        using var first = await probe.SendAsync();
        using var again = await probe.SendAsync();
        Assert.Equal("probe-block", await RuleAsync(probe, again));
        var unblock = Assert.Single(demo.CurlLines, c => c.Method == HttpMethod.Delete);
        Assert.Equal("/api/blocks/" + probe.Interface, unblock.Url.AbsolutePath);
        using var lifted = await unblock.SendAsync();
        Assert.Equal(HttpStatusCode.NoContent, lifted.StatusCode);
    }

    [Fact]
    public async Task The_printed_login_token_is_the_admin_token_and_opens_the_admin_API()
    {
        var token = demo.After("log in with the operator token");
        Assert.Equal(token, File.ReadAllText(Path.Combine(demo.Data, "keys", "admin.token")).Trim());
        var dashboard = new Uri(demo.After("Dashboard:").Split(' ')[0]);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = dashboard };
        using var anonymous = await client.GetAsync(new Uri("api/routes", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        using var routes = await client.GetAsync(new Uri("api/routes", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, routes.StatusCode);
    }

    /// <summary>Needs the dashboard (PRODUCT.md §12): <c>GET /</c> on the admin listener is a page.</summary>
    [Fact]
    public async Task The_dashboard_is_served_at_the_printed_URL()
    {
        var dashboard = new Uri(demo.After("Dashboard:").Split(' ')[0]);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using var page = await client.GetAsync(dashboard);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_printed_report_search_verify_and_proof_commands_work_from_where_the_demo_was_started()
    {
        var commands = demo.AuditgwLines.ToList();
        foreach (var verb in (string[])["report", "search", "verify", "proof"])
        {
            Assert.Contains(commands, c => c[0] == verb);
        }

        foreach (var args in commands)
        {
            var run = await AuditgwProcess.RunInAsync(demo.Directory, TimeSpan.FromSeconds(60), args);
            Assert.True(run.ExitCode == 0, $"auditgw {string.Join(' ', args)}: exit {run.ExitCode}\n{run.Stdout}{run.Stderr}");
        }

        // The proof is of the prober's first request, which the search for its requests lists.
        var proof = commands.Single(c => c[0] == "proof");
        var seq = long.Parse(proof[Array.IndexOf(proof, "--seq") + 1], CultureInfo.InvariantCulture);
        var proven = AuditLogFiles.ReadEntries(demo.Data).Single(e => e.Seq() == seq);
        Assert.Equal(Prober.ToString(), proven.Body().Text("client", "ip"));
        Assert.Equal("/.env", proven.Body().Text("path"));
    }

    private static bool IsAdmin(PrintedCurl curl) => curl.Url.AbsolutePath.StartsWith("/api/", StringComparison.Ordinal);

    private static bool AsksForProbePath(PrintedCurl curl) =>
        ProbeDetectionOptions.DefaultPaths.Any(p => curl.Url.AbsolutePath.StartsWith(p, StringComparison.OrdinalIgnoreCase));

    private static async Task<string> RequestIdAsync(HttpResponseMessage echoed)
    {
        using var reply = JsonDocument.Parse(await echoed.Content.ReadAsStringAsync());
        return reply.RootElement.GetProperty("headers").GetProperty("x-request-id").GetString()!;
    }

    /// <summary>The rule a denial names, from the log entry of the request (found by client address, path and status).</summary>
    private async Task<string?> RuleAsync(PrintedCurl curl, HttpResponseMessage denied)
    {
        Assert.False(denied.IsSuccessStatusCode, $"{curl.Line}: answered {(int)denied.StatusCode}");
        var client = (curl.Interface ?? IPAddress.Loopback).ToString();
        var status = ((int)denied.StatusCode).ToString(CultureInfo.InvariantCulture);
        var entry = await demo.LoggedAsync(
            e => e.Kind() == "request" && e.Body().Text("client", "ip") == client && e.Body().Text("path") == curl.Url.AbsolutePath && e.Body().Text("status") == status,
            $"a {status} for {client} {curl.Url.AbsolutePath}");
        return entry.Body().Text("decision", "rule");
    }
}
