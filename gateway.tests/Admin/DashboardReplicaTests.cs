using System.Net;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Redis;
using Microsoft.Playwright;
using Xunit.Abstractions;

using static Microsoft.Playwright.Assertions;

namespace AuditGateway.Tests.Admin;

/// <summary>
/// With Redis, the dashboard's live views cover every replica: two gateway processes share a real
/// redis-server (with <c>redis.streamEntries</c>); the page served by one shows the other's live numbers
/// and, with "every replica" ticked, its requests in the access stream. Real Chromium; screenshots as artifacts.
/// </summary>
[Collection(ReplicaTimingTests.Name)]
public sealed class DashboardReplicaTests(DashboardTests.Chromium chromium, ITestOutputHelper output) : IClassFixture<DashboardTests.Chromium>, IAsyncLifetime
{
    private const string Host = RedisReplicas.Host;
    private const float Wait = 15_000;

    private RedisReplicas? _set;

    private ReplicaSet Replicas => _set!.Replicas;

    public async Task InitializeAsync() => _set = await RedisReplicas.StartAsync(2, redisKeys: "streamEntries: true");

    public async Task DisposeAsync() => await _set!.DisposeAsync();

    [Fact]
    public async Task The_page_of_one_replica_shows_every_replicas_numbers_and_requests()
    {
        var (a, b) = (Replicas[0], Replicas[1]);
        Assert.Equal(200, await a.GetAsync(Host, "/on-a", IPAddress.Loopback));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(200, await b.GetAsync(Host, "/on-b", IPAddress.Loopback));
        }

        var context = await chromium.Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 800 } });
        try
        {
            var page = await context.NewPageAsync();
            var problems = new List<string>();
            page.PageError += (_, error) => problems.Add("uncaught: " + error);
            page.Response += (_, response) =>
            {
                if (response.Status >= 500)
                {
                    problems.Add($"{response.Status} from {response.Request.Method} {response.Url}");
                }
            };
            page.Console += (_, message) =>
            {
                if (message.Type == "error")
                {
                    problems.Add("console: " + message.Text);
                }
            };
            await page.GotoAsync($"http://127.0.0.1:{a.AdminPort}/");
            await page.FillAsync("#token", ReplicaSet.OperatorToken);
            await page.ClickAsync("#login-form button[type=submit]");
            await Expect(page.Locator("#who")).ToContainTextAsync("ops", new() { Timeout = Wait });

            // B's live numbers on A's page: its row for the route, with its three requests.
            await Expect(page.Locator("#replicas-panel")).ToBeVisibleAsync(new() { Timeout = Wait });
            var bRow = page.Locator("#replicas tbody tr[data-replica='replica-b']");
            await Expect(bRow).ToContainTextAsync("default/app:app.test/:Prefix", new() { Timeout = Wait });
            await Expect(bRow.Locator("td").Nth(3)).ToHaveTextAsync("3", new() { Timeout = Wait });
            await Expect(page.Locator("#replicas tbody tr[data-replica='replica-a']").Locator("td").Nth(3)).ToHaveTextAsync("1", new() { Timeout = Wait });
            await Expect(page.Locator("#replicas-meta")).ToContainTextAsync("2 replicas");
            await ShotAsync(page, "replicas-overview");

            // The access stream of every replica: a request to B shows on A's page, named by its node.
            await page.ClickAsync("[role=tab][data-tab=access]");
            await page.CheckAsync("#access-replicas input[name=replicas]");
            await page.ClickAsync("#access-filters button[type=submit]");
            var fromB = page.Locator("#access tbody tr", new() { HasText = "/from-b" });
            for (var n = 0; n < 60 && await fromB.CountAsync() == 0; n++)
            {
                Assert.Equal(200, await b.GetAsync(Host, "/from-b", IPAddress.Loopback));
                await page.WaitForTimeoutAsync(250);
            }

            await Expect(fromB.First.Locator("[data-node]")).ToHaveTextAsync("replica-b", new() { Timeout = Wait });
            await ShotAsync(page, "replicas-access");
            Assert.True(problems.Count == 0, string.Join("\n", problems));
        }
        finally
        {
            await context.CloseAsync();
        }
    }

    private async Task ShotAsync(IPage page, string name)
    {
        var root = Environment.GetEnvironmentVariable("AUDITGW_ARTIFACTS") is { Length: > 0 } set ? set : Path.Combine(AppContext.BaseDirectory, "artifacts");
        var directory = Path.Combine(root, "dashboard");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name + ".png");
        await page.ScreenshotAsync(new() { Path = path });
        output.WriteLine("screenshot: " + path);
    }
}
