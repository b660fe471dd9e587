using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace AuditGateway.Configuration;

/// <summary>Sizes in the configuration file: a whole number and a unit, <c>512KiB</c>, <c>256MiB</c>, <c>2GiB</c> (or KB, MB, GB: powers of 1000; B: bytes).</summary>
internal static class SizeParser
{
    private const string Expected = "expected a whole number followed by B, KiB, MiB, GiB, KB, MB or GB, e.g. 256MiB";

    public static bool TryParse(string? text, out long value, [NotNullWhen(false)] out string? error)
    {
        value = 0;
        var span = text.AsSpan().Trim();
        var digits = 0;
        while (digits < span.Length && char.IsAsciiDigit(span[digits]))
        {
            digits++;
        }

        if (digits == 0 || digits == span.Length)
        {
            error = span.IsEmpty ? $"empty size; {Expected}" : digits == 0 ? $"'{text}' is not a size; {Expected}" : $"'{text}' has no unit; {Expected}";
            return false;
        }

        long unit = span[digits..] switch
        {
            "B" => 1,
            "KiB" => 1L << 10,
            "MiB" => 1L << 20,
            "GiB" => 1L << 30,
            "KB" => 1000,
            "MB" => 1000_000,
            "GB" => 1000_000_000,
            _ => 0,
        };
        if (unit == 0)
        {
            error = $"'{text}' has an unknown unit; {Expected}";
            return false;
        }

        if (!long.TryParse(span[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number > long.MaxValue / unit)
        {
            error = $"'{text}' is too large";
            return false;
        }

        if (number == 0)
        {
            error = $"'{text}': expected a positive size";
            return false;
        }

        value = number * unit;
        error = null;
        return true;
    }
}
