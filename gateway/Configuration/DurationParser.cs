using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace AuditGateway.Configuration;

/// <summary>Durations in the configuration file: a whole number and a unit, <c>50ms</c>, <c>1s</c>, <c>15m</c>, <c>1h</c>, <c>7d</c>.</summary>
internal static class DurationParser
{
    private const string Expected = "expected a whole number followed by ms, s, m, h or d, e.g. 50ms, 1s, 15m, 1h";

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says what is wrong (without naming the key).</summary>
    public static bool TryParse(string? text, out TimeSpan value, [NotNullWhen(false)] out string? error)
    {
        value = TimeSpan.Zero;
        var span = text.AsSpan().Trim();
        var digits = 0;
        while (digits < span.Length && char.IsAsciiDigit(span[digits]))
        {
            digits++;
        }

        if (span.IsEmpty)
        {
            error = $"empty duration; {Expected}";
            return false;
        }

        if (digits == 0 || digits == span.Length)
        {
            error = digits == span.Length ? $"'{text}' has no unit; {Expected}" : $"'{text}' is not a duration; {Expected}";
            return false;
        }

        if (!long.TryParse(span[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            error = $"'{text}' is too large";
            return false;
        }

        var unit = span[digits..];
        long? ticksPerUnit = unit switch
        {
            "ms" => TimeSpan.TicksPerMillisecond,
            "s" => TimeSpan.TicksPerSecond,
            "m" => TimeSpan.TicksPerMinute,
            "h" => TimeSpan.TicksPerHour,
            "d" => TimeSpan.TicksPerDay,
            _ => null,
        };
        if (ticksPerUnit is not { } perUnit)
        {
            error = $"'{text}' has an unknown unit '{unit}'; {Expected}";
            return false;
        }

        if (number > TimeSpan.MaxValue.Ticks / perUnit)
        {
            error = $"'{text}' is too large";
            return false;
        }

        value = TimeSpan.FromTicks(number * perUnit);
        error = null;
        return true;
    }

    /// <summary>The shortest text <see cref="TryParse"/> reads back as <paramref name="value"/> (whole units only).</summary>
    public static string Format(TimeSpan value) =>
        value.Ticks % TimeSpan.TicksPerDay == 0 && value.Ticks != 0 ? $"{value.Ticks / TimeSpan.TicksPerDay}d"
        : value.Ticks % TimeSpan.TicksPerHour == 0 && value.Ticks != 0 ? $"{value.Ticks / TimeSpan.TicksPerHour}h"
        : value.Ticks % TimeSpan.TicksPerMinute == 0 && value.Ticks != 0 ? $"{value.Ticks / TimeSpan.TicksPerMinute}m"
        : value.Ticks % TimeSpan.TicksPerSecond == 0 ? $"{value.Ticks / TimeSpan.TicksPerSecond}s"
        : $"{value.Ticks / TimeSpan.TicksPerMillisecond}ms";
}
