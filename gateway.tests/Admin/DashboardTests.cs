using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AuditGateway.Admin.Dashboard;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Policy.Identity;
using Microsoft.Playwright;
using Xunit.Abstractions;

using static Microsoft.Playwright.Assertions;

namespace AuditGateway.Tests.Admin;

/// <summary>
/// The dashboard (<c>GET /</c> on the admin listener) in the machine's Chromium against a real in-process
/// gateway: every panel shows the traffic the test sent; a manifest edit reaches the timeline within 2 s;
/// operators unblock from the page and auditors cannot; markup from the log and from Ingresses stays text;
/// every request goes to the admin listener with the token in a header only; the page verifies an inclusion
/// proof itself and rejects a tampered one. Screenshots (1280×800) go to <see cref="Artifacts"/>.
/// </summary>
public sealed class DashboardTests(DashboardTests.DashboardGateway fixture, DashboardTests.Chromium chromium, ITestOutputHelper output)
    : IClassFixture<DashboardTests.DashboardGateway>, IClassFixture<DashboardTests.Chromium>
{
    private const string AuditorToken = "dashboard-auditor-token-5e1f";
    private const string OperatorToken = "dashboard-operator-token-c07a";
    private const string AnnotationMarkup = "<img src=x onerror=alert(2)>";
    private const string MethodsMarkup = "<script>alert(3)</script>";
    private const string PathMarkup = "/<script>alert(1)</script>";
    private const string AgentMarkup = "<img src=x onerror=alert(4)>";
    private const float Wait = 15_000;

    private TestGateway Gateway => fixture.Gateway;

    /// <summary>Where the screenshots go: <c>$AUDITGW_ARTIFACTS/dashboard</c>, else <c>artifacts/dashboard</c> beside the test assembly.</summary>
    private static string Artifacts => Environment.GetEnvironmentVariable("AUDITGW_ARTIFACTS") is { Length: > 0 } root
        ? Path.Combine(root, "dashboard")
        : Path.Combine(AppContext.BaseDirectory, "artifacts", "dashboard");

    [Fact]
    public async Task An_auditor_sees_the_routes_their_numbers_a_request_a_block_and_the_checkpoint()
    {
        for (var i = 0; i < 3; i++)
        {
            await SendAsync($"http://numbers.test/before/{i}", "198.51.100.10");
        }

        await SendAsync("http://numbers.test/denied", "198.51.100.10", HttpMethod.Post);
        await SendAsync("http://scan.test/.env", "203.0.113.66");
        await Gateway.WaitForEntryAsync(e => Security(e, "blocked", "203.0.113.66"), "the probe's block");

        await using var dashboard = await OpenAsync(AuditorToken, "alice-auditor");
        var page = dashboard.Page;
        var marker = "/after-login-" + Guid.NewGuid().ToString("N");
        for (var i = 0; i < 2; i++)
        {
            await SendAsync($"http://numbers.test{marker}/{i}", "198.51.100.10");
        }

        var row = page.Locator("#routes tbody tr[data-route='default/numbers:numbers.test/:Prefix']");
        await Expect(row.Locator("td").Nth(4)).ToHaveTextAsync("6", new() { Timeout = Wait });
        await Expect(row.Locator("td").Nth(5)).ToContainTextAsync("1 · 17 %");
        await Expect(row.Locator("td").Nth(5)).ToContainTextAsync("4xx 1");
        await Expect(row.Locator("td").Nth(6)).ToContainTextAsync("1");
        Assert.EndsWith("ms", (await row.Locator("td").Nth(7).TextContentAsync())!, StringComparison.Ordinal);
        await Expect(row.Locator("svg.spark polyline")).ToHaveCountAsync(1);
        await Expect(row).ToContainTextAsync("allowedMethods: GET");
        await Expect(page.Locator("#routes-revision")).ToContainTextAsync(Gateway.Table.Revision);
        await Expect(page.Locator("#ingresses")).ToContainTextAsync("accepted default/numbers");

        var block = page.Locator("#blocks tbody tr[data-client='203.0.113.66']");
        await Expect(block).ToContainTextAsync("probe-path", new() { Timeout = Wait });
        await Expect(block).ToContainTextAsync("/.env");
        await Expect(block).ToContainTextAsync("min");
        await Expect(page.Locator("#brief")).ToContainTextAsync("size ");
        await ShotAsync(page, "overview-auditor");

        await page.GetByRole(AriaRole.Tab, new() { Name = "Access stream" }).ClickAsync();
        await Expect(page.Locator("#access-state")).ToContainTextAsync("live", new() { Timeout = Wait });
        var access = page.Locator("#access tbody tr", new() { HasText = marker + "/1" });
        await Expect(access).ToContainTextAsync("198.51.100.10", new() { Timeout = Wait });
        await Expect(access).ToContainTextAsync("allow");
        await Expect(page.Locator("#access tbody tr", new() { HasText = "numbers.test/before/0" })).ToHaveCountAsync(1);
        await Expect(page.Locator("#access tbody tr", new() { HasText = "POST numbers.test/denied" })).ToContainTextAsync("405 client error");
        await ShotAsync(page, "access-stream");

        await page.GetByRole(AriaRole.Tab, new() { Name = "Integrity & proofs" }).ClickAsync();
        await Expect(page.Locator("#checkpoint")).ToContainTextAsync("entries (seq 0 to", new() { Timeout = Wait });
        await Expect(page.Locator("#checkpoint")).ToContainTextAsync("size and root agree");
        await Expect(page.Locator("[data-slot=witness]")).ToContainTextAsync("no witness (Redis not configured)");
        var shown = await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('#checkpoint dd')].slice(1, 3).map(d => d.textContent)");
        var size = long.Parse(shown[0].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        var root = shown[1];
        var proof = await AdminJsonAsync($"/api/proof/inclusion?seq=0&size={size}", OperatorToken);
        Assert.Equal((string)proof["rootHash"]!, root);
        await Expect(page.Locator("#consistency-last")).ToContainTextAsync("consistent", new() { Timeout = Wait });
        await ShotAsync(page, "integrity");
        dashboard.AssertQuiet();
    }

    [Fact]
    public async Task A_manifest_edit_appears_on_the_timeline_within_2_seconds_with_its_diff()
    {
        await using var dashboard = await OpenAsync(AuditorToken, "alice-auditor");
        var page = dashboard.Page;
        await page.GetByRole(AriaRole.Tab, new() { Name = "Config changes" }).ClickAsync();
        await Expect(page.Locator("#changes-state")).ToContainTextAsync("live", new() { Timeout = Wait });
        await Expect(page.Locator("#timeline")).ToContainTextAsync("create Ingress default/edit");

        var owner = "team-" + Guid.NewGuid().ToString("N")[..8];
        var started = Stopwatch.StartNew();
        Gateway.WriteManifest("edit.yaml", EditIngress(owner));
        await page.WaitForFunctionAsync(
            "owner => [...document.querySelectorAll('#timeline li.change')].some(li => li.textContent.includes('update Ingress default/edit') && li.textContent.includes(owner))",
            owner,
            new() { Timeout = Wait });
        var elapsed = started.Elapsed;
        Assert.True(elapsed < TimeSpan.FromSeconds(2), $"the change took {elapsed.TotalMilliseconds:F0} ms to appear");
        output.WriteLine($"manifest written -> shown on the timeline: {elapsed.TotalMilliseconds:F0} ms");

        var item = page.Locator("#timeline li.change").First;
        await Expect(item).ToContainTextAsync("update Ingress default/edit");
        await Expect(item).ToContainTextAsync("via file · source file");
        await Expect(item).ToContainTextAsync("applied");
        var diff = item.Locator("table.diff tbody tr", new() { HasText = "/metadata/annotations/example.com~1owner" });
        await Expect(diff.Locator("td").Nth(0)).ToContainTextAsync("replace");
        await Expect(diff.Locator("td").Nth(2)).ToHaveTextAsync("\"team-a\"");
        await Expect(diff.Locator("td").Nth(3)).ToHaveTextAsync($"\"{owner}\"");
        await Expect(item).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("fresh"));
        await ShotAsync(page, "timeline");
        Gateway.WriteManifest("edit.yaml", EditIngress("team-a"));
        dashboard.AssertQuiet();
    }

    [Fact]
    public async Task An_operator_unblocks_from_the_page_and_an_auditor_gets_no_button_and_a_403()
    {
        await SendAsync("http://scan.test/.git/config", "203.0.113.77");
        await Gateway.WaitForEntryAsync(e => Security(e, "blocked", "203.0.113.77"), "the probe's block");

        await using (var auditor = await OpenAsync(AuditorToken, "alice-auditor"))
        {
            await Expect(auditor.Page.Locator("#blocks tbody tr[data-client='203.0.113.77']")).ToContainTextAsync("probe-path", new() { Timeout = Wait });
            await Expect(auditor.Page.Locator("#blocks button")).ToHaveCountAsync(0);
            await Expect(auditor.Page.Locator("#blocks-readonly")).ToBeVisibleAsync();
            await Expect(auditor.Page.Locator("#who")).ToContainTextAsync("auditor (read-only)");
            auditor.AssertQuiet();
        }

        using (var denied = await AdminAsync(HttpMethod.Delete, "/api/blocks/203.0.113.77", AuditorToken))
        {
            Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        }

        await using var dashboard = await OpenAsync(OperatorToken, "bob-operator");
        var page = dashboard.Page;
        var row = page.Locator("#blocks tbody tr[data-client='203.0.113.77']");
        var button = row.GetByRole(AriaRole.Button, new() { Name = "Unblock" });
        await Expect(button).ToBeVisibleAsync(new() { Timeout = Wait });
        await ShotAsync(page, "overview-operator");
        await button.ClickAsync();
        await ShotAsync(page, "overview-operator-confirm");
        await row.GetByRole(AriaRole.Button, new() { Name = "Yes, unblock" }).ClickAsync();
        await Expect(page.Locator("#blocks-message")).ToContainTextAsync("203.0.113.77 unblocked", new() { Timeout = Wait });
        await Expect(row).ToHaveCountAsync(0);

        var unblocked = await Gateway.WaitForEntryAsync(e => Security(e, "unblocked", "203.0.113.77"), "the unblock");
        Assert.Equal("admin:bob-operator", (string?)unblocked["security"]!["by"]);
        using var blocks = await AdminAsync(HttpMethod.Get, "/api/blocks", AuditorToken);
        Assert.DoesNotContain("203.0.113.77", await blocks.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        dashboard.AssertQuiet();
    }

    [Fact]
    public async Task Markup_in_annotations_paths_and_user_agents_is_shown_as_text_and_never_runs()
    {
        await SendRawAsync(PathMarkup, AgentMarkup);
        await Gateway.WaitForEntryAsync(e => (string?)e["request"]?["userAgent"] == AgentMarkup, "the request with markup");

        // A JWT with the auditor role logs in as well as a static token.
        var jwt = Tokens.Mint(DashboardGateway.Key, DateTimeOffset.UtcNow, claims: new Dictionary<string, object> { ["sub"] = "carol-jwt", ["roles"] = new[] { "auditor" } });
        await using var dashboard = await OpenAsync(jwt, "carol-jwt");
        var page = dashboard.Page;
        await Expect(page.Locator("#ingresses")).ToContainTextAsync($"'{MethodsMarkup}' is not an HTTP method", new() { Timeout = Wait });

        await page.GetByRole(AriaRole.Tab, new() { Name = "Access stream" }).ClickAsync();
        var row = page.Locator("#access tbody tr", new() { HasText = AgentMarkup });
        await Expect(row).ToContainTextAsync("shop.test" + PathMarkup, new() { Timeout = Wait });
        await ShotAsync(page, "markup-access");

        await page.GetByRole(AriaRole.Tab, new() { Name = "Config changes" }).ClickAsync();
        await Expect(page.Locator("#timeline")).ToContainTextAsync(AnnotationMarkup, new() { Timeout = Wait });
        await Expect(page.Locator("#timeline")).ToContainTextAsync(MethodsMarkup);
        await Expect(page.Locator("#timeline")).ToContainTextAsync("refused");

        Assert.Equal(0, await page.EvaluateAsync<int>("() => document.images.length"));
        Assert.Equal(1, await page.EvaluateAsync<int>("() => document.scripts.length"));
        Assert.Equal(0, await page.Locator("main script, main img, main iframe, main object").CountAsync());
        dashboard.AssertQuiet();
    }

    [Fact]
    public async Task Every_request_goes_to_the_admin_listener_with_the_token_in_a_header_and_never_in_a_url()
    {
        var dashboard = await OpenAsync(OperatorToken, "bob-operator", screenshotLogin: true);
        await using (dashboard)
        {
            var page = dashboard.Page;
            var headers = dashboard.PageResponse!.Headers;
            Assert.Equal(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                headers["content-security-policy"]);
            Assert.Equal("nosniff", headers["x-content-type-options"]);
            Assert.Equal("no-referrer", headers["referrer-policy"]);
            Assert.Equal("no-store", headers["cache-control"]);

            await page.GetByRole(AriaRole.Tab, new() { Name = "Access stream" }).ClickAsync();
            await page.FillAsync("#access-filters input[name=client]", "198.51.100.200");
            await page.SelectOptionAsync("#access-filters select[name=decision]", "allow");
            await page.ClickAsync("#access-filters button[type=submit]");
            await Expect(page.Locator("#access-state")).ToContainTextAsync("client=198.51.100.200", new() { Timeout = Wait });
            await SendAsync("http://shop.test/filtered", "198.51.100.200");
            await SendAsync("http://shop.test/not-this-one", "198.51.100.201");
            await Expect(page.Locator("#access tbody tr", new() { HasText = "/filtered" })).ToHaveCountAsync(1, new() { Timeout = Wait });
            await Expect(page.Locator("#access tbody tr", new() { HasText = "/not-this-one" })).ToHaveCountAsync(0);
            await page.GetByRole(AriaRole.Tab, new() { Name = "Config changes" }).ClickAsync();
            await page.GetByRole(AriaRole.Tab, new() { Name = "Integrity & proofs" }).ClickAsync();
            await Expect(page.Locator("#checkpoint")).ToContainTextAsync("tree size", new() { Timeout = Wait });
            await page.FillAsync("#proof-form input[name=seq]", "0");
            await page.ClickAsync("#proof-form button[type=submit]");
            await Expect(page.Locator("#proof-result")).ToContainTextAsync("not verified yet", new() { Timeout = Wait });

            await page.ClickAsync("#logout");
            await Expect(page.Locator("#login")).ToBeVisibleAsync();
            await Expect(page.Locator("#app")).ToBeHiddenAsync();
            Assert.Equal(0, await page.EvaluateAsync<int>("() => sessionStorage.length + localStorage.length + document.cookie.length"));

            var admin = $"http://127.0.0.1:{Gateway.App.Ports.Admin}/";
            var requests = dashboard.Requests.ToList();
            var urls = string.Join("\n", requests.Select(r => r.Url));
            Assert.True(requests.Any(r => r.Url.EndsWith("/api/log/stream?kind=config", StringComparison.Ordinal)), urls);
            Assert.True(requests.Any(r => r.Url.EndsWith("/api/log/stream?kind=request&client=198.51.100.200&decision=allow", StringComparison.Ordinal)), urls);
            foreach (var request in requests)
            {
                Assert.True(request.Url.StartsWith(admin, StringComparison.Ordinal), $"a request to another origin: {request.Url}");
                Assert.DoesNotContain(OperatorToken, Uri.UnescapeDataString(request.Url), StringComparison.Ordinal);
                if (new Uri(request.Url).AbsolutePath.StartsWith("/api/", StringComparison.Ordinal))
                {
                    Assert.True(request.Headers.TryGetValue("authorization", out var authorization) && authorization == "Bearer " + OperatorToken, $"{request.Url} without the token header");
                }
            }

            output.WriteLine($"{requests.Count} requests, all to {admin}");
            dashboard.AssertQuiet();
        }
    }

    [Fact]
    public async Task The_page_verifies_an_inclusion_proof_itself_and_rejects_a_tampered_one()
    {
        var seq = await SendAsync("http://shop.test/proven", "198.51.100.30");
        await Eventually.TrueAsync(() => Gateway.App.Services.GetRequiredService<AuditGateway.Audit.IAuditLog>().LatestCheckpoint?.Checkpoint.Size > seq, TestGateway.Timeout, "a checkpoint covering the entry");

        await using var dashboard = await OpenAsync(AuditorToken, "alice-auditor");
        var page = dashboard.Page;
        await page.GetByRole(AriaRole.Tab, new() { Name = "Integrity & proofs" }).ClickAsync();
        await Expect(page.Locator("#checkpoint")).ToContainTextAsync("tree size", new() { Timeout = Wait });
        await page.FillAsync("#proof-form input[name=seq]", seq.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await page.ClickAsync("#proof-form button[type=submit]");
        await Expect(page.Locator("#proof-entry")).ToContainTextAsync("/proven", new() { Timeout = Wait });
        await page.ClickAsync("#proof-verify");
        await Expect(page.Locator("#proof-result")).ToContainTextAsync($"verified entry {seq} is in the signed tree", new() { Timeout = Wait });
        await Expect(page.Locator("#proof-checks .badge.bad")).ToHaveCountAsync(0);
        await Expect(page.Locator("#proof-checks .badge.ok")).ToHaveCountAsync(5);
        await ShotAsync(page, "proof-verified");

        await page.RouteAsync(url => url.Contains("/api/proof/inclusion?", StringComparison.Ordinal), async route =>
        {
            var response = await route.FetchAsync();
            var proof = JsonNode.Parse(await response.TextAsync())!;
            proof["entry"] = ((string)proof["entry"]!).Replace("/proven", "/provem", StringComparison.Ordinal);
            await route.FulfillAsync(new() { Response = response, Body = proof.ToJsonString() });
        });
        await page.ClickAsync("#proof-form button[type=submit]");
        await Expect(page.Locator("#proof-entry")).ToContainTextAsync("/provem", new() { Timeout = Wait });
        await page.ClickAsync("#proof-verify");
        await Expect(page.Locator("#proof-result")).ToContainTextAsync("NOT verified", new() { Timeout = Wait });
        await Expect(page.Locator("#proof-checks")).ToContainTextAsync("FAIL SHA-256(0x00 ‖ entry line)");
        await ShotAsync(page, "proof-tampered");
        dashboard.AssertQuiet();
    }

    [Fact]
    public async Task The_files_are_typed_and_tagged_the_session_names_the_role_and_polling_is_audited_once_per_session()
    {
        using (var page = await Gateway.Client.GetAsync(Gateway.AdminUri("/")))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html; charset=utf-8", page.Content.Headers.ContentType!.ToString());
            Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        }

        using (var script = await Gateway.Client.GetAsync(Gateway.AdminUri("/ui/app.js")))
        {
            Assert.Equal("text/javascript; charset=utf-8", script.Content.Headers.ContentType!.ToString());
            Assert.Equal("nosniff", script.Headers.GetValues("X-Content-Type-Options").Single());
            using var again = new HttpRequestMessage(HttpMethod.Get, Gateway.AdminUri("/ui/app.js"));
            again.Headers.IfNoneMatch.Add(script.Headers.ETag!);
            using var notModified = await Gateway.Client.SendAsync(again);
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        }

        using (var style = await Gateway.Client.GetAsync(Gateway.AdminUri("/ui/app.css")))
        {
            Assert.Equal("text/css; charset=utf-8", style.Content.Headers.ContentType!.ToString());
        }

        using (var missing = await Gateway.Client.GetAsync(Gateway.AdminUri("/ui/missing.js")))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        using (var anonymous = await Gateway.Client.GetAsync(Gateway.AdminUri("/api/session")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        var auditor = await AdminJsonAsync("/api/session", AuditorToken);
        Assert.Equal(("alice-auditor", "auditor"), ((string?)auditor["name"], (string?)auditor["role"]));
        var session = (string)(await AdminJsonAsync("/api/session", OperatorToken))["session"]!;
        Assert.Equal("operator", (string?)(await AdminJsonAsync("/api/session", OperatorToken))["role"]);

        const string Subject = "GET /api/reports/routes?live=true";
        int Recorded(string? inSession) => Gateway.AuditNodes().Count(e =>
            (string?)e["security"]?["subject"] == Subject && (string?)e["security"]?["evidence"]?["dashboardSession"] == inSession);
        var outside = Recorded(null);
        for (var i = 0; i < 3; i++)
        {
            await AdminJsonAsync("/api/reports/routes?live=true", OperatorToken, session);
        }

        await AdminJsonAsync("/api/reports/routes?live=true", OperatorToken);
        await AdminJsonAsync("/api/reports/routes?live=true", AuditorToken, session);
        Assert.Equal(1, Recorded(session));
        Assert.Equal(outside + 2, Recorded(null));
        var opened = Gateway.AuditNodes().Single(e => (string?)e["security"]?["reason"] == "dashboard session" && (string?)e["security"]?["evidence"]?["dashboardSession"] == session);
        Assert.Equal("admin:bob-operator", (string?)opened["security"]!["by"]);
    }

    [Fact]
    public async Task A_session_records_a_read_once_for_its_caller_retries_a_failed_record_and_forgets_the_least_recently_used()
    {
        var clock = new ManualTimeProvider();
        var sessions = new DashboardSessions(clock);
        List<(string Subject, bool InSession)> records = [];
        Func<bool, Task> Record(string subject) => inSession =>
        {
            records.Add((subject, inSession));
            return Task.CompletedTask;
        };

        var first = sessions.Open("admin:a");
        await sessions.RecordOnce(first, "admin:a", "GET /x", Record("GET /x"));
        await sessions.RecordOnce(first, "admin:a", "GET /x", Record("GET /x"));
        await sessions.RecordOnce(first, "admin:a", "GET /y", Record("GET /y"));
        await sessions.RecordOnce(first, "admin:b", "GET /x", Record("GET /x"));
        await sessions.RecordOnce(null, "admin:a", "GET /x", Record("GET /x"));
        await sessions.RecordOnce("no-such-session", "admin:a", "GET /x", Record("GET /x"));
        Assert.Equal([("GET /x", true), ("GET /y", true), ("GET /x", false), ("GET /x", false), ("GET /x", false)], records);

        await Assert.ThrowsAsync<IOException>(() => sessions.RecordOnce(first, "admin:a", "GET /z", _ => Task.FromException(new IOException("the log is not writable"))));
        records.Clear();
        await sessions.RecordOnce(first, "admin:a", "GET /z", Record("GET /z"));
        Assert.Equal([("GET /z", true)], records);

        clock.Advance(TimeSpan.FromSeconds(1));
        var second = sessions.Open("admin:a");
        await sessions.RecordOnce(second, "admin:a", "GET /x", Record("GET /x"));
        for (var i = 2; i < DashboardSessions.Capacity; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            sessions.Open("admin:c");
        }

        // The first session was used last and stays; the second, unused since it opened, is forgotten.
        clock.Advance(TimeSpan.FromSeconds(1));
        await sessions.RecordOnce(first, "admin:a", "GET /x", Record("GET /x"));
        sessions.Open("admin:c");
        records.Clear();
        await sessions.RecordOnce(first, "admin:a", "GET /x", Record("GET /x"));
        await sessions.RecordOnce(second, "admin:a", "GET /x", Record("GET /x"));
        Assert.Equal([("GET /x", false)], records);
    }

    // ---------------------------------------------------------------- helpers

    private static bool Security(JsonObject entry, string action, string subject) =>
        (string?)entry["security"]?["action"] == action && (string?)entry["security"]?["subject"] == subject;

    /// <summary>Sends a request as the client <paramref name="client"/> (X-Forwarded-For from the trusted 127.0.0.1); returns its entry's seq.</summary>
    private async Task<long> SendAsync(string url, string client, HttpMethod? method = null)
    {
        var agent = "dashboard-test/" + Guid.NewGuid().ToString("N");
        using (var request = new HttpRequestMessage(method ?? HttpMethod.Get, new Uri(url)))
        {
            request.Headers.TryAddWithoutValidation("User-Agent", agent);
            request.Headers.Add("X-Forwarded-For", client);
            using var response = await Gateway.Client.SendAsync(request);
        }

        var entry = await Gateway.WaitForEntryAsync(e => (string?)e["request"]?["userAgent"] == agent, $"the entry of {url}");
        return (long)entry["seq"]!;
    }

    /// <summary>A request line and User-Agent as written (HttpClient would escape the path's markup).</summary>
    private async Task SendRawAsync(string path, string userAgent)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Gateway.App.Ports.Http!.Value);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: shop.test\r\nUser-Agent: {userAgent}\r\nConnection: close\r\n\r\n"));
        var answer = await new StreamReader(stream).ReadToEndAsync();
        Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
    }

    private async Task<HttpResponseMessage> AdminAsync(HttpMethod method, string path, string token, string? session = null)
    {
        using var request = new HttpRequestMessage(method, Gateway.AdminUri(path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (session is not null)
        {
            request.Headers.Add("X-AuditGateway-Session", session);
        }

        return await Gateway.Client.SendAsync(request);
    }

    private async Task<JsonNode> AdminJsonAsync(string path, string token, string? session = null)
    {
        using var response = await AdminAsync(HttpMethod.Get, path, token, session);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    /// <summary>A new browser context at 1280×800 on the dashboard, logged in with the token; waits until the page names the caller.</summary>
    private async Task<Dashboard> OpenAsync(string token, string name, bool screenshotLogin = false)
    {
        var context = await chromium.Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 800 } });
        var dashboard = new Dashboard(context, await context.NewPageAsync());
        try
        {
            var page = dashboard.Page;
            dashboard.PageResponse = await page.GotoAsync(Gateway.AdminUri("/").AbsoluteUri);
            await Expect(page.Locator("#login")).ToBeVisibleAsync();
            await page.FillAsync("#token", token);
            if (screenshotLogin)
            {
                await ShotAsync(page, "login");
            }

            await page.ClickAsync("#login-form button[type=submit]");
            await Expect(page.Locator("#who")).ToContainTextAsync(name, new() { Timeout = Wait });
            await Expect(page.Locator("#live")).ToContainTextAsync("live", new() { Timeout = Wait });
            return dashboard;
        }
        catch
        {
            await dashboard.DisposeAsync();
            throw;
        }
    }

    private async Task ShotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(Artifacts);
        var path = Path.Combine(Artifacts, name + ".png");
        await page.ScreenshotAsync(new() { Path = path });
        output.WriteLine("screenshot: " + path);
    }

    private static string EditIngress(string owner) => Manifests.Ingress(
        "edit",
        [new HostRule("edit.test", new PathRule("/", "Prefix", "app", 80))],
        annotations: new Dictionary<string, string> { ["example.com/owner"] = owner });

    /// <summary>One logged-in page and what it did: dialogs, console errors and uncaught exceptions, every request.</summary>
    private sealed class Dashboard : IAsyncDisposable
    {
        private readonly IBrowserContext _context;
        private readonly ConcurrentQueue<string> _problems = new();

        public Dashboard(IBrowserContext context, IPage page)
        {
            _context = context;
            Page = page;
            page.Dialog += (_, dialog) =>
            {
                _problems.Enqueue("dialog: " + dialog.Message);
                _ = dialog.DismissAsync();
            };
            page.Console += (_, message) =>
            {
                if (message.Type is "error" or "warning")
                {
                    _problems.Enqueue($"console {message.Type}: {message.Text}");
                }
            };
            page.PageError += (_, error) => _problems.Enqueue("uncaught: " + error);
            page.Request += (_, request) => Requests.Enqueue(request);
        }

        public IPage Page { get; }

        public IResponse? PageResponse { get; set; }

        public ConcurrentQueue<IRequest> Requests { get; } = new();

        /// <summary>No dialog opened (no injected script ran), nothing was logged as an error, nothing threw.</summary>
        public void AssertQuiet() => Assert.True(_problems.IsEmpty, string.Join("\n", _problems));

        public async ValueTask DisposeAsync() => await _context.CloseAsync();
    }

    /// <summary>The machine's Chromium (never a downloaded browser), started once for the class.</summary>
    public sealed class Chromium : IAsyncLifetime
    {
        private const string Executable = "/usr/bin/chromium";

        private IPlaywright? _playwright;
        private IBrowser? _browser;

        internal IBrowser Browser => _browser ?? throw new InvalidOperationException("the browser is not started");

        public async Task InitializeAsync()
        {
            Assert.True(File.Exists(Executable), $"{Executable} is not installed: scripts/test installs it (apt-get install chromium)");
            _playwright = await Playwright.CreateAsync();
            _browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = Executable, Headless = true });
        }

        public async Task DisposeAsync()
        {
            if (_browser is not null)
            {
                await _browser.DisposeAsync();
            }

            _playwright?.Dispose();
        }
    }

    /// <summary>
    /// A gateway with an auditor and an operator token, a JWT issuer (auditor and operator roles), probe detection,
    /// 127.0.0.1 as a trusted proxy (tests name clients in X-Forwarded-For), and Ingresses: <c>shop</c> (with markup in
    /// an annotation), <c>numbers</c> (GET only), <c>edit</c> (its own file, for edits) and <c>markup</c> (refused:
    /// markup as its allowed methods).
    /// </summary>
    public sealed class DashboardGateway : SharedGateway
    {
        internal static TestKey Key => TestKey.Shared("dashboard-ec", () => TestKey.Ec("dashboard-ec"));

        private protected override string[] Backends => ["app"];

        private protected override TestGateway CreateGateway()
        {
            static string Sha(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
            var gateway = new TestGateway();
            gateway.WriteConfigAsset("dashboard-jwks.json", TestKey.Jwks(Key));
            gateway.ConfigYaml = $$"""
                identity:
                  trustedProxies: [127.0.0.1/32]
                  jwt:
                    issuers:
                      - issuer: {{Tokens.Issuer}}
                        audiences: [{{Tokens.Audience}}]
                        keysFile: dashboard-jwks.json
                policy:
                  probeDetection:
                    enabled: true
                    blockFor: 10m
                admin:
                  tokens:
                    - { name: alice-auditor, role: auditor, sha256: "{{Sha(AuditorToken)}}" }
                    - { name: bob-operator, role: operator, sha256: "{{Sha(OperatorToken)}}" }
                """;
            return gateway;
        }

        private protected override void WriteManifests(TestGateway gateway)
        {
            gateway.WriteManifest("app.yaml", Manifests.Documents(
                gateway.ServiceFor("app"),
                Manifests.Ingress(
                    "shop",
                    [new HostRule("shop.test", new PathRule("/", "Prefix", "app", 80))],
                    annotations: new Dictionary<string, string> { ["example.com/note"] = AnnotationMarkup }),
                Manifests.Ingress(
                    "numbers",
                    [new HostRule("numbers.test", new PathRule("/", "Prefix", "app", 80))],
                    annotations: new Dictionary<string, string> { ["auditgateway.io/allowed-methods"] = "GET" }),
                Manifests.Ingress(
                    "markup",
                    [new HostRule("markup.test", new PathRule("/", "Prefix", "app", 80))],
                    annotations: new Dictionary<string, string> { ["auditgateway.io/allowed-methods"] = MethodsMarkup })));
            gateway.WriteManifest("edit.yaml", EditIngress("team-a"));
        }
    }
}
