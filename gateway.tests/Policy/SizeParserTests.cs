using AuditGateway.Configuration;

namespace AuditGateway.Tests.Policy;

public sealed class SizeParserTests
{
    [Theory]
    [InlineData("512B", 512)]
    [InlineData("64KiB", 64 * 1024)]
    [InlineData(" 256MiB ", 256L * 1024 * 1024)]
    [InlineData("2GiB", 2L * 1024 * 1024 * 1024)]
    [InlineData("10MB", 10_000_000)]
    [InlineData("1KB", 1000)]
    [InlineData("3GB", 3_000_000_000)]
    public void Parses_whole_numbers_with_a_unit(string text, long bytes)
    {
        Assert.True(SizeParser.TryParse(text, out var value, out var error), error);
        Assert.Equal(bytes, value);
    }

    [Theory]
    [InlineData("", "empty size")]
    [InlineData(null, "empty size")]
    [InlineData("256", "'256' has no unit")]
    [InlineData("MiB", "'MiB' is not a size")]
    [InlineData("256mb", "'256mb' has an unknown unit")]
    [InlineData("0MiB", "expected a positive size")]
    [InlineData("99999999999GiB", "is too large")]
    public void Refuses_anything_else_saying_why(string? text, string reason)
    {
        Assert.False(SizeParser.TryParse(text, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}
