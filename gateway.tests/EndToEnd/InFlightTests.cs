using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using AuditGateway.Tests.Common;
using Xunit.Abstractions;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>Route-table swaps under load drop no request: every request gets a 200 from a backend.</summary>
public sealed class InFlightTests(ITestOutputHelper output)
{
    private const int Clients = 4;
    private const int Edits = 20;
    private const int MaxRequestsPerClient = 5000;

    [Fact]
    public async Task Twenty_manifest_edits_under_continuous_traffic_drop_no_request()
    {
        await using var gateway = await TestGateway.StartAsync(["blue", "green"], g =>
        {
            g.WriteManifest("services.yaml", Manifests.Documents(g.ServiceFor("blue"), g.ServiceFor("green")));
            g.WriteManifest("live.yaml", LiveIngress(0));
        });

        using var editsDone = new CancellationTokenSource();
        var failures = new ConcurrentQueue<string>();
        var servedBy = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var traffic = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            var client = gateway.CreateClient();
            var sent = 0;
            while (sent < MaxRequestsPerClient && !editsDone.IsCancellationRequested)
            {
                var url = string.Create(CultureInfo.InvariantCulture, $"http://live.test/client{c}/{sent++}");
                try
                {
                    using var response = await client.GetAsync(new Uri(url));
                    var body = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode != HttpStatusCode.OK || !response.Headers.TryGetValues("X-Backend", out var backend))
                    {
                        failures.Enqueue($"{url}: {(int)response.StatusCode} {TestGateway.Reason(response)} {body}");
                        continue;
                    }

                    servedBy.AddOrUpdate(backend.Single(), 1, (_, n) => n + 1);
                }
                catch (HttpRequestException e)
                {
                    failures.Enqueue($"{url}: {e.Message}");
                }
            }

            return sent;
        })).ToArray();

        for (var edit = 1; edit <= Edits; edit++)
        {
            gateway.WriteManifest("live.yaml", LiveIngress(edit));
            var marker = string.Create(CultureInfo.InvariantCulture, $"default/live:live.test/edit-{edit}:Prefix");
            await gateway.WaitForRouteAsync(marker);
        }

        await editsDone.CancelAsync();
        var sent = (await Task.WhenAll(traffic)).Sum();
        output.WriteLine($"{sent} requests from {Clients} clients across {Edits} edits; served by {string.Join(", ", servedBy)}");

        Assert.True(failures.IsEmpty, $"{failures.Count} of {sent} requests failed, e.g. {string.Join(" | ", failures.Take(5))}");
        Assert.Equal(sent, servedBy.Values.Sum());
        // Both backends served: the edits took effect while the traffic flowed.
        Assert.True(servedBy.ContainsKey("blue") && servedBy.ContainsKey("green"), $"served by: {string.Join(", ", servedBy)}");
    }

    /// <summary>Edit N sends <c>/</c> to blue or green by parity and adds a marker path, so every edit changes the table.</summary>
    private static string LiveIngress(int edit) => Manifests.Ingress("live", [new HostRule(
        "live.test",
        new PathRule("/", "Prefix", edit % 2 == 0 ? "blue" : "green", 80),
        new PathRule(string.Create(CultureInfo.InvariantCulture, $"/edit-{edit}"), "Prefix", "blue", 80))]);
}
