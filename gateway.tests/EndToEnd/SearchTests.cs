using System.Globalization;
using System.Text.Json;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Search;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// <c>auditgw search</c> over the live data directory of a gateway that served real traffic: each
/// filter finds exactly what a naive filter over the log's JSON finds, and paging with the cursor
/// returns every match once, in seq order.
/// </summary>
public sealed class SearchTests(SearchGateway fixture) : IClassFixture<SearchGateway>
{
    private string Data => fixture.Gateway.DataDirectory;

    public static TheoryData<string, string> Filters => new()
    {
        { "--kind", "request" },
        { "--kind", "config" },
        { "--kind", "lifecycle" },
        { "--route", "default/app:app.test/:Prefix" },
        { "--route", "default/shop" },
        { "--identity", "alice" },
        { "--identity", "bob" },
        { "--client", "203.0.113.2" },
        { "--client", "198.51.100.7" },
        { "--status", "404" },
        { "--status", "4xx" },
        { "--status", "2xx" },
        { "--decision", "deny" },
        { "--decision", "allow" },
    };

    private static Func<JsonElement, bool> Expected(string option, string value) => option switch
    {
        "--kind" => EntryFilters.Kind(value),
        "--route" => EntryFilters.Route(value),
        "--identity" => EntryFilters.Identity(value),
        "--client" => EntryFilters.Client(value),
        "--status" when value.EndsWith("xx", StringComparison.Ordinal) => EntryFilters.Status(s => s / 100 == value[0] - '0'),
        "--status" => EntryFilters.Status(s => s == int.Parse(value, CultureInfo.InvariantCulture)),
        "--decision" => EntryFilters.Decision(value),
        _ => throw new ArgumentOutOfRangeException(nameof(option)),
    };

    private async Task AssertFindsAsync(Func<JsonElement, bool> expected, params string[] args)
    {
        var result = await SearchCli.RunAsync(["--data", Data, "--format", "json", "--limit", "10000", .. args]);
        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        var entries = fixture.Entries();
        var want = entries.Seqs(expected);
        Assert.NotEmpty(want);
        Assert.True(want.Count < entries.Count, "the filter must leave some entries out");
        Assert.Equal(want, result.Seqs());
        Assert.Null(result.NextCursor());
    }

    [Theory]
    [MemberData(nameof(Filters))]
    public Task Each_filter_finds_exactly_the_entries_it_names(string option, string value) =>
        AssertFindsAsync(Expected(option, value), option, value);

    [Fact]
    public Task Filters_combine()
    {
        return AssertFindsAsync(
            EntryFilters.All(EntryFilters.Route("default/shop"), EntryFilters.Status(s => s / 100 == 2), EntryFilters.Client("203.0.113.3")),
            "--kind", "request", "--route", "default/shop", "--status", "2xx", "--client", "203.0.113.3");
    }

    [Fact]
    public async Task A_request_id_finds_its_one_entry()
    {
        var request = fixture.Entries().Where(EntryFilters.IsRequest).ElementAt(5);
        var id = request.Body().Text("id")!;
        await AssertFindsAsync(EntryFilters.RequestId(id), "--request-id", id);
        Assert.Single(fixture.Entries().Seqs(EntryFilters.RequestId(id)));
    }

    [Fact]
    public async Task A_time_range_takes_from_inclusive_to_exclusive()
    {
        var entries = fixture.Entries();
        var from = entries[entries.Count / 4].Time();
        var to = entries[entries.Count * 3 / 4].Time();
        await AssertFindsAsync(
            e => e.Time() >= from && e.Time() < to,
            "--from", from.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
            "--to", to.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'+00:00'", CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_relative_time_counts_back_from_the_clock()
    {
        var entries = fixture.Entries();
        var from = entries[entries.Count / 2].Time();
        var clock = new ManualTimeProvider(from + TimeSpan.FromMinutes(30));
        var result = await SearchCli.RunAsync(clock, "--data", Data, "--format", "json", "--limit", "10000", "--from", "-30m");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal(entries.Seqs(e => e.Time() >= from), result.Seqs());
        Assert.True(result.Seqs().Count < entries.Count);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("3")]
    [InlineData("7")]
    public async Task Paging_with_the_cursor_returns_every_match_once_in_seq_order(string limit)
    {
        var (requests, pages) = await SearchCli.AllPagesAsync("--data", Data, "--kind", "request", "--limit", limit);
        Assert.Equal(fixture.Entries().Seqs(EntryFilters.IsRequest), requests);
        Assert.Equal((requests.Count + int.Parse(limit, CultureInfo.InvariantCulture) - 1) / int.Parse(limit, CultureInfo.InvariantCulture), pages);

        var (all, _) = await SearchCli.AllPagesAsync("--data", Data, "--limit", limit);
        var entries = fixture.Entries();
        Assert.Equal(entries.Seqs(_ => true), all);
    }

    [Fact]
    public async Task The_table_prints_one_line_per_entry_starting_with_its_seq_and_the_cursor_when_there_is_more()
    {
        var result = await SearchCli.RunAsync("--data", Data, "--decision", "deny", "--limit", "2");
        Assert.Equal(0, result.ExitCode);
        var lines = result.Lines().ToList();
        var denied = fixture.Entries().Seqs(EntryFilters.Decision("deny"));
        Assert.Equal(3, lines.Count);
        Assert.StartsWith($"{denied[0]} ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith($"{denied[1]} ", lines[1], StringComparison.Ordinal);
        Assert.Contains(" deny ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("more: --cursor ", lines[2], StringComparison.Ordinal);

        var next = await SearchCli.RunAsync("--data", Data, "--decision", "deny", "--limit", "2", "--cursor", lines[2]["more: --cursor ".Length..]);
        Assert.StartsWith($"{denied[2]} ", next.Lines().First(), StringComparison.Ordinal);
    }
}
