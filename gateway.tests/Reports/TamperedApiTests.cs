using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AuditGateway.Audit;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Reports;

/// <summary>The admin API's report of a log edited under a running gateway says TAMPERED, with 409.</summary>
public sealed class TamperedApiTests
{
    [Fact]
    public async Task A_log_edited_under_the_running_gateway_is_reported_tampered_with_409()
    {
        await using var gateway = await TestGateway.StartAsync(["app"], g => g.WriteManifest("app.yaml", Manifests.Documents(
            g.ServiceFor("app"),
            Manifests.Ingress("shop", [new HostRule("shop.test", new PathRule("/", "Prefix", "app", 80))]))));
        for (var i = 0; i < 5; i++)
        {
            await gateway.GetEchoAsync($"http://shop.test/{i}");
        }

        await Eventually.TrueAsync(() => ReportGateway.RequestEntries(gateway).Count == 5, TestGateway.Timeout, "5 request entries");
        var log = gateway.App.Services.GetRequiredService<IAuditLog>();
        var durable = log.DurableSize;
        await Eventually.TrueAsync(() => log.LatestCheckpoint?.Checkpoint.Size >= durable, TestGateway.Timeout, "a checkpoint covering the requests");

        // Same length, in place: the writer goes on appending to the file as if nothing happened.
        var segment = Directory.GetFiles(Path.Combine(gateway.DataDirectory, "log"), "*.jsonl").Single();
        var text = gateway.AuditText();
        var lines = text.Split('\n');
        var seq = Array.FindIndex(lines, l => l.Contains("\"kind\":\"request\"", StringComparison.Ordinal));
        var offset = Encoding.UTF8.GetByteCount(string.Join("\n", lines[..seq]) + "\n") + lines[seq].IndexOf("\"status\":200", StringComparison.Ordinal);
        using (var file = new FileStream(segment, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            file.Position = offset + "\"status\":20".Length;
            file.WriteByte((byte)'1');
        }

        using var request = gateway.AdminRequest(HttpMethod.Get, "/api/reports/routes");
        using var response = await gateway.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Conflict, $"{(int)response.StatusCode} {body}");
        var source = JsonNode.Parse(body)!["source"]!;
        Assert.Equal("TAMPERED", (string?)source["verification"]);
        Assert.Equal(seq, (long)source["badSeq"]!);
        Assert.Empty(JsonNode.Parse(body)!["routes"]!.AsArray());
    }
}
