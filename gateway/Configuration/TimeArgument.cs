using System.Globalization;

namespace AuditGateway.Configuration;

/// <summary>
/// A <c>from</c> or <c>to</c> of a report or a search: an RFC 3339 time (<c>2026-12-02T10:00:00Z</c>)
/// or a time back from now, <c>-</c> and a duration (<see cref="DurationParser"/>): <c>-24h</c>, <c>-30m</c>,
/// at most about 100 years back.
/// </summary>
internal static class TimeArgument
{
    private static readonly TimeSpan s_longest = TimeSpan.FromDays(36_500);

    public static bool TryParse(string text, TimeProvider time, out DateTimeOffset value) => TryParse(text, time.GetUtcNow(), out value);

    /// <summary>As <see cref="TryParse(string, TimeProvider, out DateTimeOffset)"/>, relative to <paramref name="now"/> (one now for a from and a to).</summary>
    public static bool TryParse(string text, DateTimeOffset now, out DateTimeOffset value)
    {
        value = default;
        if (text.StartsWith('-'))
        {
            if (!DurationParser.TryParse(text[1..], out var back, out _) || back > s_longest)
            {
                return false;
            }

            value = now - back;
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
}
