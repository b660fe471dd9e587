using System.Text;

namespace AuditGateway.Audit.Verification;

/// <summary>
/// One string instance per distinct value (the route ids, rules, subjects and client addresses of a
/// verify): a value seen before costs a lookup and no allocation. Past <see cref="MostValues"/>
/// values, new ones are returned unpooled, so a log of millions of clients does not grow it without
/// bound. Not thread-safe.
/// </summary>
internal sealed class StringPool
{
    public const int MostValues = 100_000;

    /// <summary>Values up to this many UTF-16 code units are decoded on the stack for the lookup.</summary>
    private const int StackChars = 256;

    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    public StringPool() => _bySpan = _strings.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The pooled string of valid UTF-8 <paramref name="utf8"/>.</summary>
    public string Intern(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > StackChars)
        {
            return Intern(Encoding.UTF8.GetString(utf8));
        }

        Span<char> chars = stackalloc char[StackChars];
        var length = Encoding.UTF8.GetChars(utf8, chars);
        var text = chars[..length];
        if (_bySpan.TryGetValue(text, out var pooled))
        {
            return pooled;
        }

        pooled = text.ToString();
        if (_strings.Count < MostValues)
        {
            _strings.Add(pooled, pooled);
        }

        return pooled;
    }

    /// <summary>The pooled string at <paramref name="span"/> of <paramref name="line"/>; null when the span starts at -1 (a null in the line).</summary>
    public string? Intern(ReadOnlySpan<byte> line, (int Start, int Length) span) =>
        span.Start < 0 ? null : Intern(line.Slice(span.Start, span.Length));

    /// <summary>The pooled string equal to <paramref name="value"/> (<paramref name="value"/> itself the first time).</summary>
    public string Intern(string value)
    {
        if (_strings.TryGetValue(value, out var pooled))
        {
            return pooled;
        }

        if (_strings.Count < MostValues)
        {
            _strings.Add(value, value);
        }

        return value;
    }
}
