using AuditGateway.Configuration;

namespace AuditGateway.Tests.Policy;

public sealed class DurationParserTests
{
    [Theory]
    [InlineData("50ms", 50 * TimeSpan.TicksPerMillisecond)]
    [InlineData("1s", TimeSpan.TicksPerSecond)]
    [InlineData("15m", 15 * TimeSpan.TicksPerMinute)]
    [InlineData(" 1h ", TimeSpan.TicksPerHour)]
    [InlineData("7d", 7 * TimeSpan.TicksPerDay)]
    [InlineData("0s", 0)]
    public void Parses_whole_numbers_with_a_unit(string text, long ticks)
    {
        Assert.True(DurationParser.TryParse(text, out var value, out var error), error);
        Assert.Equal(TimeSpan.FromTicks(ticks), value);
    }

    [Theory]
    [InlineData("", "empty duration")]
    [InlineData(null, "empty duration")]
    [InlineData("15", "'15' has no unit")]
    [InlineData("m", "'m' is not a duration")]
    [InlineData("-1s", "'-1s' is not a duration")]
    [InlineData("1.5s", "'1.5s' has an unknown unit '.5s'")]
    [InlineData("15M", "'15M' has an unknown unit 'M'")]
    [InlineData("1 s", "'1 s' has an unknown unit ' s'")]
    [InlineData("99999999999999999999d", "'99999999999999999999d' is too large")]
    [InlineData("99999999999d", "'99999999999d' is too large")]
    public void Rejects_with_a_clear_error(string? text, string expected)
    {
        Assert.False(DurationParser.TryParse(text, out _, out var error));
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("50ms")]
    [InlineData("1s")]
    [InlineData("90s")]
    [InlineData("15m")]
    [InlineData("1h")]
    [InlineData("2d")]
    [InlineData("0s")]
    public void Format_round_trips(string text)
    {
        Assert.True(DurationParser.TryParse(text, out var value, out _));
        Assert.Equal(text, DurationParser.Format(value));
    }
}
