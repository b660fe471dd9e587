using System.Text.Json.Nodes;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Reports;

/// <summary>Reports read the data directory of a gateway that keeps writing it.</summary>
public sealed class LiveDirectoryTests(ReportGateway fixture) : IClassFixture<ReportGateway>
{
    [Fact]
    public async Task Reports_read_while_the_gateway_writes_are_intact_and_grow()
    {
        var gateway = fixture.Gateway;
        using var stop = new CancellationTokenSource();
        var sent = 0;
        var traffic = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("http://fast.test/during"));
                request.Headers.Add("X-Forwarded-For", "192.0.2.99");
                using var response = await gateway.Client.SendAsync(request, CancellationToken.None);
                Interlocked.Increment(ref sent);
            }
        });

        // Entries become durable (and readable) in batches, so a quick report may see no new ones:
        // report again until one has read at least 100 more entries than the first.
        var read = new List<long>();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            while (read.Count < 3 || read[^1] < read[0] + 100)
            {
                Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) < TestGateway.Timeout, "entries read: " + string.Join(", ", read));
                var during = Volatile.Read(ref sent);
                await Eventually.TrueAsync(() => Volatile.Read(ref sent) > during + 20, TestGateway.Timeout, "more requests were sent");
                var (code, output, error) = await ReportGateway.RunReportAsync("--data", gateway.DataDirectory, "--format", "json", "--by", "client");
                Assert.True(code == 0, output + error);
                var source = JsonNode.Parse(output)!["source"]!;
                Assert.Equal("intact", (string?)source["verification"]);
                read.Add((long)source["entriesRead"]!);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await traffic;
        }

        Assert.True(read.Zip(read.Skip(1)).All(p => p.Second >= p.First), string.Join(", ", read));
    }

    [Fact]
    public async Task The_real_command_line_has_the_report_verb()
    {
        var ok = await AuditgwProcess.RunAsync(TimeSpan.FromSeconds(60), "report", "--data", fixture.Gateway.DataDirectory, "--by", "status", "--format", "csv");
        Assert.True(ok.ExitCode == 0, ok.Stdout + ok.Stderr);
        Assert.Contains("\r\nstatus,class,requests,denied\r\n", ok.Stdout, StringComparison.Ordinal);
        var bad = await AuditgwProcess.RunAsync(TimeSpan.FromSeconds(60), "report", "--data", fixture.Gateway.DataDirectory, "--from", "soon");
        Assert.Equal(2, bad.ExitCode);
        Assert.StartsWith("auditgw report: --from 'soon' is not a time", bad.Stderr, StringComparison.Ordinal);
    }
}
