using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace AuditGateway.Tests.Reports;

/// <summary>Every format of a report carries the same numbers; the HTML page renders its charts in Chromium without a network request.</summary>
public sealed class ReportFormatTests(ReportGateway fixture) : IClassFixture<ReportGateway>
{
    private const string Chromium = "/usr/bin/chromium";

    public static TheoryData<string, string> Kinds => new()
    {
        { "route", "routes" },
        { "identity", "identities" },
        { "client", "clients" },
        { "status", "statuses" },
    };

    private async Task<string> RunAsync(string by, string format, params string[] extra)
    {
        var (code, output, error) = await ReportGateway.RunReportAsync(["--data", fixture.Gateway.DataDirectory, "--by", by, "--format", format, "--to", "2999-01-01T00:00:00Z", .. extra]);
        Assert.True(code == 0, output + error);
        return output;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Json_csv_and_table_show_the_same_values(string by, string section)
    {
        var json = JsonNode.Parse(await RunAsync(by, "json"))!;
        var csv = Csv(await RunAsync(by, "csv"));
        var table = Table(await RunAsync(by, "table"), section);
        Assert.Equal(csv, table);
        Assert.True(csv.Count > 2, string.Join("\n", csv.Select(r => string.Join(",", r))));

        var columns = csv[0];
        var rows = csv.Skip(1).ToDictionary(r => r[0]);
        var items = json[section]!.AsArray();
        Assert.Equal(items.Count, rows.Count);
        foreach (var item in items)
        {
            var row = rows[item![columns[0]]!.ToString()];
            foreach (var (column, value) in Numbers(item.AsObject()))
            {
                Assert.True(row[columns.IndexOf(column)] == value.ToString(CultureInfo.InvariantCulture), $"{row[0]} {column}: JSON {value}, CSV {row[columns.IndexOf(column)]}");
            }
        }
    }

    /// <summary>The numeric fields of a JSON row under their table column names (latencies flattened: p50Us, upstreamP50Us…).</summary>
    private static IEnumerable<(string Column, long Value)> Numbers(JsonObject item)
    {
        foreach (var (name, node) in item)
        {
            if (node is JsonValue value && value.TryGetValue<long>(out var n) && name != "status")
            {
                yield return (name, n);
            }
            else if (name == "statuses" && node is JsonObject classes)
            {
                foreach (var (c, count) in classes)
                {
                    yield return (c, (long)count!);
                }
            }
            else if (name is "latency" or "upstream" or "overhead")
            {
                foreach (var p in new[] { "p50", "p90", "p95", "p99", "max" })
                {
                    var column = p + "Us";
                    yield return (name == "latency" ? column : name + char.ToUpperInvariant(column[0]) + column[1..], (long)node![p]!);
                }
            }
        }
    }

    [Fact]
    public async Task The_html_page_renders_its_charts_offline_with_the_same_values()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is not installed: scripts/test installs it (apt-get install chromium)");
        var directory = Directory.CreateTempSubdirectory("auditgw-report-html-").FullName;
        try
        {
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true });
            foreach (var by in new[] { "route", "client" })
            {
                var file = Path.Combine(directory, by + ".html");
                await RunAsync(by, "html", "--out", file);
                var page = await browser.NewPageAsync();
                List<string> requests = [];
                page.Request += (_, request) => requests.Add(request.Url);
                var url = new Uri(file).AbsoluteUri;
                await page.GotoAsync(url, new() { WaitUntil = WaitUntilState.Load });

                var figures = await page.Locator("figure[data-chart]").AllAsync();
                var charts = new List<string>();
                foreach (var figure in figures)
                {
                    var chart = (await figure.GetAttributeAsync("data-chart"))!;
                    charts.Add(chart);
                    var svg = figure.Locator("svg");
                    Assert.Equal(1, await svg.CountAsync());
                    var box = await svg.BoundingBoxAsync();
                    Assert.True(box is { Width: > 100, Height: > 100 }, $"{by} {chart}: the svg is not laid out ({box?.Width}x{box?.Height})");
                    Assert.True(await svg.Locator("path, rect").CountAsync() > (chart == "latency" ? 3 : 0), $"{by} {chart}: no shapes");
                }

                Assert.Equal(7, charts.Count(c => c == "latency"));
                Assert.Contains("statuses", charts);
                Assert.Contains("clients", charts);
                Assert.Equal(5 + Segments(Csv(await RunAsync("route", "csv"))), await page.Locator("figure[data-chart=statuses] rect").CountAsync());

                var rows = new List<List<string>>();
                foreach (var row in await page.Locator("#report tr").AllAsync())
                {
                    rows.Add([.. await row.Locator("th, td").AllTextContentsAsync()]);
                }

                Assert.Equal(Csv(await RunAsync(by, "csv")), rows);
                Assert.Equal([url], requests);
                Assert.Equal(0, await page.Locator("script, link, img, iframe, object").CountAsync());
                await page.CloseAsync();
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The status chart's bar segments: one per route and non-empty status class (besides the five legend squares).</summary>
    private static int Segments(List<List<string>> routes)
    {
        var classes = new[] { "1xx", "2xx", "3xx", "4xx", "5xx" }.Select(c => routes[0].IndexOf(c)).ToList();
        return routes.Skip(1).Sum(r => classes.Count(i => r[i] != "0"));
    }

    /// <summary>RFC 4180 records after the <c>#</c> provenance lines.</summary>
    private static List<List<string>> Csv(string text)
    {
        var body = string.Join("\r\n", text.Split("\r\n").SkipWhile(l => l.StartsWith('#')));
        List<List<string>> rows = [];
        List<string> row = [];
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < body.Length; i++)
        {
            var c = body[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < body.Length && body[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                row.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\r' && i + 1 < body.Length && body[i + 1] == '\n')
            {
                row.Add(field.ToString());
                field.Clear();
                rows.Add(row);
                row = [];
                i++;
            }
            else
            {
                field.Append(c);
            }
        }

        return rows;
    }

    /// <summary>The aligned table titled <paramref name="title"/>: cells start where their column's header starts.</summary>
    private static List<List<string>> Table(string text, string title)
    {
        var lines = text.Split('\n').SkipWhile(l => l != title).Skip(1).TakeWhile(l => l.Length > 0).ToList();
        var header = lines[0];
        var starts = new List<int>();
        var at = 0;
        foreach (var name in header.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            at = header.IndexOf(name, at, StringComparison.Ordinal);
            starts.Add(at);
            at += name.Length;
        }

        return [.. lines.Select(line => starts.Select((start, i) =>
        {
            var end = i + 1 < starts.Count ? starts[i + 1] : line.Length;
            return start >= line.Length ? "" : line[start..Math.Min(end, line.Length)].Trim();
        }).ToList())];
    }
}
