using System.Net;
using System.Text;
using System.Text.Json;
using AuditGateway.Audit.Storage;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Search;

namespace AuditGateway.Tests.EndToEnd;

/// <summary><c>GET /api/log</c> on a running gateway whose log was edited in place: 500 naming the first bad seq, and no entries.</summary>
public sealed class LogApiTamperTests
{
    [Fact]
    public async Task A_search_of_a_tampered_log_is_500_naming_the_first_bad_seq()
    {
        await using var gateway = await TestGateway.StartAsync(["app"], g => g.WriteManifest("app.yaml", Manifests.Documents(
            g.ServiceFor("app"),
            Manifests.Ingress("app", [new HostRule("app.test", new PathRule("/", "Prefix", "app", 80))]))));
        for (var i = 0; i < 5; i++)
        {
            await gateway.SendAsync($"http://app.test/page{i}");
        }

        using (var clean = gateway.AdminRequest(HttpMethod.Get, "/api/log?kind=request"))
        using (var response = await gateway.Client.SendAsync(clean))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Same length, in place, while the gateway keeps the segment open: GET becomes PUT in one request entry.
        var target = gateway.AuditEntries().Where(EntryFilters.IsRequest).ElementAt(2).Seq();
        var segment = LogLayout.Segments(gateway.DataDirectory).Single().Path;
        var bytes = await File.ReadAllBytesAsync(segment);
        var line = bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes($"{{\"seq\":{target},"));
        var method = line + bytes.AsSpan(line).IndexOf("\"method\":\"GET\""u8) + "\"method\":\"".Length;
        await using (var file = new FileStream(segment, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            file.Position = method;
            await file.WriteAsync("PUT"u8.ToArray());
        }

        using var request = gateway.AdminRequest(HttpMethod.Get, "/api/log?kind=request");
        using var tampered = await gateway.Client.SendAsync(request);
        var body = await tampered.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.InternalServerError, tampered.StatusCode);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal(target, json.GetProperty("tampered").GetProperty("seq").GetInt64());
        Assert.StartsWith($"TAMPERED seq={target} reason=", json.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.False(json.TryGetProperty("entries", out _));
    }
}
