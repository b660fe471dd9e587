using System.Net;
using AuditGateway.Audit.Entries;
using AuditGateway.Search;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Search;

/// <summary>Filter values as typed: what parses, and the one line a bad value gives (naming the option or parameter).</summary>
public sealed class SearchParametersTests
{
    private static readonly ManualTimeProvider Clock = new(new DateTimeOffset(2026, 12, 2, 14, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData("-24h", "2026-12-01T14:00:00Z")]
    [InlineData("-30m", "2026-12-02T13:30:00Z")]
    [InlineData("-7d", "2026-11-25T14:00:00Z")]
    [InlineData("2026-12-02T10:15:30Z", "2026-12-02T10:15:30Z")]
    [InlineData("2026-12-02T10:15:30.123456Z", "2026-12-02T10:15:30.123456Z")]
    [InlineData("2026-12-02T12:15:30+02:00", "2026-12-02T10:15:30Z")]
    public void Times_are_RFC_3339_or_back_from_now(string text, string expected)
    {
        var query = new SearchParameters { From = text }.Parse(Clock, commandLine: true);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), query.From);
    }

    [Fact]
    public void Values_parse_into_the_query()
    {
        var query = new SearchParameters
        {
            Kind = "request",
            Status = "4xx",
            Decision = "would-deny",
            Client = "2001:db8::1",
            Limit = "25",
            Cursor = SearchCursor.Encode(1234),
        }.Parse(Clock, commandLine: false);
        Assert.Equal(AuditKind.Request, query.Kind);
        Assert.Equal(new StatusFilter(4, IsClass: true), query.Status);
        Assert.True(query.Status!.Value.Matches(404) && query.Status.Value.Matches(499) && !query.Status.Value.Matches(500));
        Assert.Equal(Decision.WouldDeny, query.Decision);
        Assert.Equal(IPAddress.Parse("2001:db8:0::1"), query.Client);
        Assert.Equal(25, query.Limit);
        Assert.Equal(1234, query.StartSeq);
        Assert.True(query.HasFilters);
        Assert.False(new SearchParameters { Limit = "5" }.Parse(Clock, commandLine: false).HasFilters);
    }

    [Theory]
    [InlineData("--status", "4x")]
    [InlineData("--status", "600")]
    [InlineData("--client", "not-an-ip")]
    [InlineData("--from", "yesterday")]
    [InlineData("--from", "2026-12-02")]
    [InlineData("--to", "-5")]
    [InlineData("--kind", "requests")]
    [InlineData("--decision", "WouldDeny")]
    [InlineData("--limit", "0")]
    [InlineData("--limit", "10001")]
    [InlineData("--cursor", "junk")]
    [InlineData("--request-id", "")]
    public async Task A_bad_value_exits_2_with_one_line_naming_the_option(string option, string value)
    {
        using var dir = new Audit.TempDataDirectory();
        var result = await SearchCli.RunAsync("--data", dir.Path, option, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("", result.Output);
        var line = Assert.Single(result.Error.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"auditgw search: {option} '{value}': expected ", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_data_directory_exits_2_with_one_line()
    {
        var result = await SearchCli.RunAsync("--data", Path.Combine(Path.GetTempPath(), "no-such-auditgw-data-" + Guid.NewGuid().ToString("N")));
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("auditgw search: ", Assert.Single(result.Error.TrimEnd('\n').Split('\n')), StringComparison.Ordinal);
    }

    [Fact]
    public void The_api_names_the_query_parameter_and_an_empty_range_is_refused()
    {
        var bad = Assert.Throws<SearchParameterException>(() => new SearchParameters { RequestId = "" }.Parse(Clock, commandLine: false));
        Assert.StartsWith("requestId '': expected", bad.Message, StringComparison.Ordinal);
        var empty = Assert.Throws<SearchParameterException>(() => new SearchParameters { From = "-1h", To = "-2h" }.Parse(Clock, commandLine: true));
        Assert.Contains("--to must be later", empty.Message, StringComparison.Ordinal);
    }
}
