using System.Globalization;
using System.Net;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Telemetry;

/// <summary>Reads a gateway's <c>/metrics</c> and the samples in it.</summary>
internal static class MetricsScrape
{
    public static async Task<string> GetAsync(TestGateway gateway)
    {
        using var response = await gateway.Client.GetAsync(gateway.AdminUri("/metrics"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"/metrics: {(int)response.StatusCode} {body}");
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        return body;
    }

    /// <summary>Scrapes until the exposition satisfies <paramref name="condition"/> (as <see cref="Eventually"/> polls); returns it.</summary>
    public static async Task<string> WaitForAsync(TestGateway gateway, Func<string, bool> condition, string because)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            var text = await GetAsync(gateway);
            if (condition(text))
            {
                return text;
            }

            if (System.Diagnostics.Stopwatch.GetElapsedTime(started) > TestGateway.Timeout)
            {
                throw new TimeoutException($"/metrics never showed {because}; the last scrape:\n{text}");
            }

            await Task.Delay(5);
        }
    }

    /// <summary>The value of the sample written exactly as <paramref name="series"/> (<c>name{labels}</c>), or null.</summary>
    public static double? Value(string exposition, string series)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    /// <summary>The sample lines (no comments) whose series starts with <paramref name="prefix"/>.</summary>
    public static IReadOnlyList<string> Samples(string exposition, string prefix) =>
        [.. exposition.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal))];

    /// <summary>Runs <c>promtool check metrics</c> on the text: its exit code and what it printed.</summary>
    public static async Task<(int ExitCode, string Output)> PromtoolCheckAsync(string exposition)
    {
        var start = new System.Diagnostics.ProcessStartInfo("promtool", "check metrics")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        await process.StandardInput.WriteAsync(exposition);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, (await output) + (await error));
    }
}
