using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using AuditGateway.Audit;
using AuditGateway.Demo;
using AuditGateway.Reports;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Policy.Identity;

namespace AuditGateway.Tests.Reports;

/// <summary>
/// A gateway that served known traffic, left running: fast and slow routes (a backend that waits as
/// long as the path says), a route whose backend answers the status the path names, address and
/// method denials, JWT identities and 401s, and requests matching no route. Clients are given in
/// <c>X-Forwarded-For</c> (127.0.0.1 is a trusted proxy).
/// </summary>
public sealed class ReportGateway : IAsyncLifetime
{
    public const int Requests = 30 + 40 + 10 + 6 + 3 + 10 + 2;

    /// <summary>The admin token of <c>audit-team</c>, an auditor.</summary>
    public const string AuditorToken = "reports-auditor-token";

    private LoopbackServer? _backend;
    private TestGateway? _gateway;

    internal TestGateway Gateway => _gateway ?? throw new InvalidOperationException("the fixture is not initialized");

    internal static TestKey Rsa => TestKey.Shared("reports-rsa", () => TestKey.Rsa("reports-rsa"));

    public async Task InitializeAsync()
    {
        _backend = await LoopbackServer.StartAsync(app => app.Run(Answer));
        var gateway = new TestGateway();
        try
        {
            await gateway.AddBackendsAsync("app");
            gateway.WriteConfigAsset("issuer-jwks.json", TestKey.Jwks(Rsa));
            gateway.ConfigYaml = $"""
                identity:
                  trustedProxies: [127.0.0.1/32]
                  jwt:
                    issuers:
                      - issuer: {Tokens.Issuer}
                        audiences: [{Tokens.Audience}]
                        keysFile: issuer-jwks.json
                admin:
                  tokens:
                    - name: audit-team
                      role: auditor
                      sha256: "{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(AuditorToken)))}"
                policy:
                  probeDetection:
                    maxDeniedPerMinute: 100000
                    maxNotFoundPerMinute: 100000
                """;
            gateway.WriteManifest("reports.yaml", Common.Manifests.Documents(
                gateway.ServiceFor("app"),
                Common.Manifests.Backend("timed", _backend.Port),
                Ingress("fast", "app"),
                Ingress("slow", "timed"),
                Ingress("status", "timed"),
                Ingress("deny", "app", ("deny-source-range", "198.51.100.0/24")),
                Ingress("methods", "app", ("allowed-methods", "GET")),
                Ingress("jwt", "app", ("auth", "jwt"))));
            await gateway.StartAsync();
            _gateway = gateway;
            await SendTrafficAsync(gateway);
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }
    }

    private static string Ingress(string name, string service, params (string Key, string Value)[] annotations) => Common.Manifests.Ingress(
        name,
        [new HostRule($"{name}.test", new PathRule("/", "Prefix", service, 80))],
        annotations: annotations.ToDictionary(a => "auditgateway.io/" + a.Key, a => a.Value));

    /// <summary><c>/delay/N</c> answers 200 after N ms; <c>/status/N</c> answers N.</summary>
    private static async Task Answer(HttpContext context)
    {
        var parts = (context.Request.Path.Value ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);
        var n = parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : 0;
        if (parts.Length == 2 && parts[0] == "delay")
        {
            await Task.Delay(n, context.RequestAborted);
            await context.Response.WriteAsync("waited\n");
            return;
        }

        context.Response.StatusCode = parts.Length == 2 ? n : 200;
        if (n == 302)
        {
            context.Response.Headers.Location = "/elsewhere";
        }
    }

    private static async Task SendTrafficAsync(TestGateway gateway)
    {
        List<(string Url, string Client, HttpMethod Method, string? Subject)> plan = [];
        plan.AddRange(Enumerable.Range(0, 30).Select(i => ($"http://fast.test/item/{i}", i < 20 ? "192.0.2.1" : "192.0.2.2", HttpMethod.Get, (string?)null)));
        plan.AddRange(Enumerable.Range(0, 40).Select(i => ($"http://slow.test/delay/{1 + i}", "192.0.2.3", HttpMethod.Get, (string?)null)));
        plan.AddRange(new[] { 404, 404, 404, 404, 404, 500, 500, 500, 302, 302 }.Select(s => ($"http://status.test/status/{s}", "192.0.2.4", HttpMethod.Get, (string?)null)));
        plan.AddRange(Enumerable.Range(0, 6).Select(i => ("http://deny.test/", i < 4 ? "198.51.100.7" : "192.0.2.1", HttpMethod.Get, (string?)null)));
        plan.AddRange(Enumerable.Range(0, 3).Select(_ => ("http://methods.test/", "192.0.2.1", HttpMethod.Post, (string?)null)));
        plan.AddRange(Enumerable.Range(0, 10).Select(i => ("http://jwt.test/", "192.0.2.5", HttpMethod.Get, i < 5 ? "alice" : i < 7 ? "bob" : null)));
        plan.AddRange(Enumerable.Range(0, 2).Select(_ => ("http://nowhere.test/", "192.0.2.6", HttpMethod.Get, (string?)null)));
        Assert.Equal(Requests, plan.Count);

        foreach (var batch in plan.Chunk(10))
        {
            await Task.WhenAll(batch.Select(async p =>
            {
                using var request = new HttpRequestMessage(p.Method, new Uri(p.Url));
                request.Headers.Add("X-Forwarded-For", p.Client);
                if (p.Subject is { } subject)
                {
                    var token = Tokens.Mint(Rsa, DateTimeOffset.UtcNow, claims: new Dictionary<string, object> { ["sub"] = subject });
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                }

                using var response = await gateway.Client.SendAsync(request);
                await response.Content.ReadAsStringAsync();
            }));
        }

        await Eventually.TrueAsync(() => RequestEntries(gateway).Count == Requests, TestGateway.Timeout, $"{Requests} request entries");
        var log = gateway.App.Services.GetRequiredService<IAuditLog>();
        var durable = log.DurableSize;
        await Eventually.TrueAsync(() => log.LatestCheckpoint?.Checkpoint.Size >= durable, TestGateway.Timeout, "a checkpoint covering the traffic");
    }

    /// <summary>GET on the admin API as the auditor <c>audit-team</c>.</summary>
    internal async Task<(HttpStatusCode Status, string ContentType, string Body)> AdminGetAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Gateway.AdminUri(path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AuditorToken);
        using var response = await Gateway.Client.SendAsync(request);
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType ?? "", await response.Content.ReadAsStringAsync());
    }

    internal async Task<JsonObject> AdminJsonAsync(string path)
    {
        var (status, _, body) = await AdminGetAsync(path);
        Assert.True(status == HttpStatusCode.OK, $"GET {path}: {(int)status} {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    /// <summary>The request bodies in the log.</summary>
    internal static List<JsonObject> RequestEntries(TestGateway gateway) =>
        [.. gateway.AuditNodes().Where(e => (string?)e["kind"] == "request").Select(e => e["request"]!.AsObject())];

    /// <summary>Runs <c>auditgw report</c> in-process.</summary>
    internal static async Task<(int Code, string Output, string Error)> RunReportAsync(params string[] args)
    {
        var root = new RootCommand("test") { ReportCommand.Create(TimeProvider.System) };
        var parse = root.Parse(["report", .. args]);
        Assert.Empty(parse.Errors);
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }
    }
}
