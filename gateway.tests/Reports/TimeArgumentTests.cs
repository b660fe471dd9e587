using AuditGateway.Configuration;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Reports;

public sealed class TimeArgumentTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("-24h", "2026-12-01T12:00:00Z")]
    [InlineData("-30m", "2026-12-02T11:30:00Z")]
    [InlineData("-45s", "2026-12-02T11:59:15Z")]
    [InlineData("-7d", "2026-11-25T12:00:00Z")]
    [InlineData("2026-12-02T10:00:00Z", "2026-12-02T10:00:00Z")]
    [InlineData("2026-12-02T10:00:00.123456Z", "2026-12-02T10:00:00.123456Z")]
    [InlineData("2026-12-02T11:00:00+01:00", "2026-12-02T10:00:00Z")]
    [InlineData("2026-12-02 10:00:00z", "2026-12-02T10:00:00Z")]
    public void Rfc3339_and_relative_times_parse(string text, string expected)
    {
        Assert.True(TimeArgument.TryParse(text, new ManualTimeProvider(Now), out var value), text);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), value);
        Assert.Equal(TimeSpan.Zero, value.Offset);
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("24h")]
    [InlineData("-24x")]
    [InlineData("-h")]
    [InlineData("2026-12-02")]
    [InlineData("2026-12-02T10:00:00")]
    [InlineData("2026-13-02T10:00:00Z")]
    [InlineData("-99999999999d")]
    public void Other_text_is_refused_with_one_line(string text)
    {
        var problem = TimeArgument.Problem("--from", text, new ManualTimeProvider(Now), out var value);
        Assert.Null(value);
        Assert.NotNull(problem);
        Assert.StartsWith($"--from '{text}' is not a time", problem, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', problem);
    }
}
