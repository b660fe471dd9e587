using System.Globalization;

namespace AuditGateway.Reports;

/// <summary>
/// A report's <c>from</c> or <c>to</c>: an RFC 3339 time (<c>2026-12-02T10:00:00Z</c>) or a time
/// relative to now, <c>-</c> followed by a number and a unit (<c>s</c>, <c>m</c>, <c>h</c>, <c>d</c>): <c>-24h</c>, <c>-30m</c>.
/// </summary>
internal static class TimeArgument
{
    public static bool TryParse(string text, TimeProvider time, out DateTimeOffset value)
    {
        value = default;
        if (text.Length >= 3 && text[0] == '-' && Unit(text[^1]) is { } unit
            && long.TryParse(text.AsSpan(1, text.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            && count <= 36_500L * 24 * 3600 / (long)unit.TotalSeconds)
        {
            value = time.GetUtcNow() - (unit * count);
            return true;
        }

        // RFC 3339: a date, 'T' (or 't', or a space), a time and a zone (Z or ±hh:mm).
        var rfc = text.Length >= 20 && text[4] == '-' && text[7] == '-' && text[10] is 'T' or 't' or ' '
            && (text[^1] is 'Z' or 'z' || (text[^6] is '+' or '-' && text[^3] == ':'));
        return rfc && DateTimeOffset.TryParse(text.Replace(' ', 'T'), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out value);
    }

    /// <summary>The problem with <paramref name="text"/> as <paramref name="option"/>, as one line; null when it parses.</summary>
    public static string? Problem(string option, string? text, TimeProvider time, out DateTimeOffset? value)
    {
        value = null;
        if (text is null)
        {
            return null;
        }

        if (!TryParse(text, time, out var parsed))
        {
            return $"{option} '{text}' is not a time: expected RFC 3339 (2026-12-02T10:00:00Z) or relative to now (-24h, -30m, -45s, -7d)";
        }

        value = parsed;
        return null;
    }

    private static TimeSpan? Unit(char unit) => unit switch
    {
        's' => TimeSpan.FromSeconds(1),
        'm' => TimeSpan.FromMinutes(1),
        'h' => TimeSpan.FromHours(1),
        'd' => TimeSpan.FromDays(1),
        _ => null,
    };
}
