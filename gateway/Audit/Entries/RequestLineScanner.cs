using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using System.Text.Unicode;

namespace AuditGateway.Audit.Entries;

/// <summary>Where the scanner found a request line's parts: its figures, and the strings as (start, length) in the line.</summary>
/// <param name="Facts">The figures; its strings are left null for the caller to intern from the spans.</param>
/// <param name="Route">The route id's UTF-8 bytes in the line; start -1 when the route is null.</param>
/// <param name="Subject">The identity's subject; start -1 when null or not authenticated.</param>
/// <param name="Rule">The decision's rule; start -1 when null.</param>
internal readonly record struct ScannedRequest(
    RequestFacts Facts,
    (int Start, int Length) Node,
    (int Start, int Length) Route,
    (int Start, int Length) Client,
    (int Start, int Length) Subject,
    (int Start, int Length) Rule);

/// <summary>
/// Proves without building objects that a line is exactly what <see cref="EntryEncoder"/> writes
/// for a request entry, the kind that makes up nearly all of a log: <c>verify</c> then needs neither
/// <see cref="EntryReader"/>'s object graph nor the re-encoding. It walks the one key order the
/// encoder writes and accepts only what the encoder writes: no white space, integers in plain
/// decimal (no leading zero, no <c>-0</c>, within range), timestamps of exactly six fractional
/// digits and a <c>Z</c>, lower-case hex, the decision's own names, the optional keys absent or well
/// formed, the claims without a repeated name.
/// </summary>
/// <remarks>
/// Its answer is "canonical" or "not proved", never "not canonical": a line it does not prove
/// (another kind, any backslash escape, a control character, invalid UTF-8, a number out of range,
/// a leap second, a year 0, more than <see cref="MostClaims"/> claims) goes to the full parse and re-encode,
/// which decides. Without escapes, control characters or invalid UTF-8 anywhere in the line, every
/// string's bytes are its canonical encoding, so a string needs only its closing quote found.
/// </remarks>
internal ref struct RequestLineScanner
{
    /// <summary>More claims than this are left to the full check (their names are compared pairwise).</summary>
    public const int MostClaims = 16;

    private static readonly SearchValues<byte> s_escapeOrControl = SearchValues.Create([.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'\\']);

    private readonly ReadOnlySpan<byte> _line;
    private int _pos;

    private RequestLineScanner(ReadOnlySpan<byte> line) => _line = line;

    /// <summary>
    /// True when <paramref name="line"/> is a canonical request entry; then <paramref name="prev"/>
    /// (32 bytes) holds its decoded <c>prev</c>. False when that is not proved (see the remarks).
    /// </summary>
    public static bool TryScan(ReadOnlySpan<byte> line, Span<byte> prev, out ScannedRequest scanned)
    {
        scanned = default;
        if (!Plain(line))
        {
            return false;
        }

        var s = new RequestLineScanner(line);
        return s.Entry(prev, out scanned) && s._pos == line.Length;
    }

    /// <summary>
    /// True when <paramref name="line"/> has no backslash and no control character and is valid UTF-8:
    /// one pass over the line, and the UTF-8 check only when a byte is not ASCII.
    /// </summary>
    private static bool Plain(ReadOnlySpan<byte> line)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var start = ref MemoryMarshal.GetReference(line);
            var refused = Vector256<byte>.Zero;
            var all = Vector256<byte>.Zero;
            for (; i + Vector256<byte>.Count <= line.Length; i += Vector256<byte>.Count)
            {
                var bytes = Vector256.LoadUnsafe(ref start, (nuint)i);
                refused |= Vector256.LessThan(bytes, Vector256.Create((byte)0x20)) | Vector256.Equals(bytes, Vector256.Create((byte)'\\'));
                all |= bytes;
            }

            if (refused != Vector256<byte>.Zero)
            {
                return false;
            }

            if ((all & Vector256.Create((byte)0x80)) != Vector256<byte>.Zero)
            {
                return !line[i..].ContainsAny(s_escapeOrControl) && Utf8.IsValid(line);
            }
        }

        var rest = line[i..];
        return !rest.ContainsAny(s_escapeOrControl) && (Ascii.IsValid(rest) || Utf8.IsValid(line));
    }

    private bool Entry(Span<byte> prev, out ScannedRequest scanned)
    {
        scanned = default;
        if (!(Envelope(out var seq, out var ticks, out var node, prev)
            && Head(out var client)
            && Identity(out var subject)
            && Route(out var route)
            && Outcome(out var decision, out var rule, out var status, out var bytesIn, out var bytesOut, out var latency, out var upstream)
            && Attempts()
            && TraceId()
            && Grpc()
            && WebSocket()
            && Literal("}}"u8)))
        {
            return false;
        }

        var facts = new RequestFacts(seq, new DateTimeOffset(ticks, TimeSpan.Zero), null, status, decision, latency, upstream, bytesIn, bytesOut);
        scanned = new ScannedRequest(facts, node, route, client, subject, rule);
        return true;
    }

    private bool Envelope(out long seq, out long ticks, out (int, int) node, Span<byte> prev)
    {
        seq = ticks = 0;
        node = default;
        return Literal("{\"seq\":"u8) && Integer(out seq)
            && Literal(",\"ts\":"u8) && Time(out ticks)
            && Literal(",\"kind\":\"request\",\"node\":"u8) && String(out node)
            && Literal(",\"prev\":\""u8) && Hex(prev);
    }

    private bool Head(out (int, int) client)
    {
        client = default;
        return Literal("\",\"request\":{\"id\":"u8) && String()
        && Literal(",\"method\":"u8) && String()
        && Literal(",\"scheme\":"u8) && String()
        && Literal(",\"host\":"u8) && String()
        && Literal(",\"path\":"u8) && String()
        && Literal(",\"query\":"u8) && StringOrNull()
        && Literal(",\"protocol\":"u8) && String()
        && Literal(",\"client\":{\"ip\":"u8) && String(out client)
        && Literal(",\"port\":"u8) && Int32(out _)
        && Literal("},\"forwarded\":"u8) && Strings()
        && Literal(",\"userAgent\":"u8) && StringOrNull();
    }

    private bool Identity(out (int, int) subject)
    {
        subject = (-1, 0);
        var authenticated = Literal(",\"identity\":{\"authenticated\":true"u8);
        if (!authenticated && !Literal(",\"identity\":{\"authenticated\":false"u8))
        {
            return false;
        }

        var ok = Literal(",\"subject\":"u8) && StringOrNull(out subject)
            && Literal(",\"issuer\":"u8) && StringOrNull()
            && Literal(",\"audience\":"u8) && StringOrNull()
            && Literal(",\"clientId\":"u8) && StringOrNull()
            && Literal(",\"claims\":"u8) && Claims()
            && Literal("},\"route\":"u8);
        subject = authenticated ? subject : (-1, 0);
        return ok;
    }

    private bool Outcome(out Decision decision, out (int, int) rule, out int status, out long bytesIn, out long bytesOut, out long latency, out long? upstream)
    {
        rule = (-1, 0);
        status = 0;
        bytesIn = bytesOut = latency = 0;
        upstream = null;
        decision = default;
        return Literal(",\"revision\":"u8) && String()
            && Literal(",\"decision\":{\"decision\":"u8) && DecisionName(out decision)
            && Literal(",\"rule\":"u8) && StringOrNull(out rule)
            && Literal(",\"reason\":"u8) && StringOrNull()
            && Literal("},\"status\":"u8) && Int32(out status)
            && Literal(",\"bytesIn\":"u8) && Integer(out bytesIn)
            && Literal(",\"bytesOut\":"u8) && Integer(out bytesOut)
            && Literal(",\"latencyUs\":"u8) && Integer(out latency)
            && Literal(",\"upstreamLatencyUs\":"u8) && IntegerOrNull(out upstream)
            && Literal(",\"tls\":"u8) && Tls()
            && Literal(",\"upstreamError\":"u8) && StringOrNull();
    }

    // The primitives are inlined so that each comparison with a literal of the schema compiles to a
    // few wide compares of known length: a line is about a hundred of them.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Literal(ReadOnlySpan<byte> text)
    {
        if (!_line[_pos..].StartsWith(text))
        {
            return false;
        }

        _pos += text.Length;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool String() => String(out _);

    /// <summary>A string (never null); the line has no escapes, so it ends at the next quote.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool String(out (int Start, int Length) text)
    {
        text = default;
        if (_pos >= _line.Length || _line[_pos] != '"')
        {
            return false;
        }

        var length = Quote(_line[(_pos + 1)..]);
        if (length < 0)
        {
            return false;
        }

        text = (_pos + 1, length);
        _pos += length + 2;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool StringOrNull() => Literal("null"u8) || String();

    /// <summary>A string or null; <paramref name="text"/> starts at -1 for null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool StringOrNull(out (int Start, int Length) text)
    {
        text = (-1, 0);
        return Literal("null"u8) || String(out text);
    }

    /// <summary>Where the first quote in <paramref name="text"/> is (-1 when none): most strings end within 32 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Quote(ReadOnlySpan<byte> text)
    {
        if (Vector256.IsHardwareAccelerated && text.Length >= Vector256<byte>.Count)
        {
            var bytes = Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(text));
            var quotes = Vector256.Equals(bytes, Vector256.Create((byte)'"')).ExtractMostSignificantBits();
            if (quotes != 0)
            {
                return BitOperations.TrailingZeroCount(quotes);
            }
        }

        return text.IndexOf((byte)'"');
    }

    /// <summary>An array of strings (none null).</summary>
    private bool Strings()
    {
        if (!Literal("["u8))
        {
            return false;
        }

        if (Literal("]"u8))
        {
            return true;
        }

        do
        {
            if (!String())
            {
                return false;
            }
        }
        while (Literal(","u8));

        return Literal("]"u8);
    }

    /// <summary><c>null</c> or an object of string arrays whose names are all different.</summary>
    private bool Claims()
    {
        if (Literal("null"u8))
        {
            return true;
        }

        if (!Literal("{"u8))
        {
            return false;
        }

        if (Literal("}"u8))
        {
            return true;
        }

        Span<(int Start, int Length)> names = stackalloc (int, int)[MostClaims];
        var count = 0;
        do
        {
            if (count == MostClaims || !String(out var name) || !Literal(":"u8) || !Strings())
            {
                return false;
            }

            var bytes = _line.Slice(name.Start, name.Length);
            for (var i = 0; i < count; i++)
            {
                if (_line.Slice(names[i].Start, names[i].Length).SequenceEqual(bytes))
                {
                    return false;
                }
            }

            names[count++] = name;
        }
        while (Literal(","u8));

        return Literal("}"u8);
    }

    private bool Route(out (int Start, int Length) id)
    {
        id = (-1, 0);
        return Literal("null"u8)
            || (Literal("{\"id\":"u8) && String(out id)
                && Literal(",\"namespace\":"u8) && String()
                && Literal(",\"ingress\":"u8) && String()
                && Literal(",\"path\":"u8) && String()
                && Literal(",\"pathType\":"u8) && String()
                && Literal(",\"service\":"u8) && String()
                && Literal(",\"port\":"u8) && String()
                && Literal(",\"destination\":"u8) && StringOrNull()
                && Literal("}"u8));
    }

    private bool Tls() =>
        Literal("null"u8)
        || (Literal("{\"sni\":"u8) && StringOrNull() && Literal(",\"version\":"u8) && String() && Literal("}"u8));

    /// <summary>The optional <c>attempts</c>: absent, or an array of <c>{destination, error}</c>.</summary>
    private bool Attempts()
    {
        if (!Literal(",\"attempts\":["u8))
        {
            return true;
        }

        if (Literal("]"u8))
        {
            return true;
        }

        do
        {
            if (!(Literal("{\"destination\":"u8) && String() && Literal(",\"error\":"u8) && StringOrNull() && Literal("}"u8)))
            {
                return false;
            }
        }
        while (Literal(","u8));

        return Literal("]"u8);
    }

    /// <summary>The optional <c>traceId</c>: absent, or a string.</summary>
    private bool TraceId() => !Literal(",\"traceId\":"u8) || String();

    /// <summary>The optional <c>grpc</c>: absent, or <c>{status?, message?, messagesIn, messagesOut}</c>.</summary>
    private bool Grpc() =>
        !Literal(",\"grpc\":{"u8)
        || ((!Literal("\"status\":"u8) || (Int32(out _) && Literal(","u8)))
            && (!Literal("\"message\":"u8) || (String() && Literal(","u8)))
            && Literal("\"messagesIn\":"u8) && Integer(out _)
            && Literal(",\"messagesOut\":"u8) && Integer(out _)
            && Literal("}"u8));

    /// <summary>The optional <c>websocket</c>: absent, or <c>{closeStatus, closedBy, framesIn, framesOut}</c>.</summary>
    private bool WebSocket() =>
        !Literal(",\"websocket\":{\"closeStatus\":"u8)
        || ((Literal("null"u8) || Int32(out _))
            && Literal(",\"closedBy\":"u8) && StringOrNull()
            && Literal(",\"framesIn\":"u8) && Integer(out _)
            && Literal(",\"framesOut\":"u8) && Integer(out _)
            && Literal("}"u8));

    private bool DecisionName(out Decision decision)
    {
        var names = EntryEncoder.DecisionNames;
        for (var i = 0; i < names.Length; i++)
        {
            var rest = _line[_pos..];
            if (rest.Length >= names[i].Length + 2 && rest[0] == '"' && rest[1..].StartsWith(names[i]) && rest[names[i].Length + 1] == '"')
            {
                _pos += names[i].Length + 2;
                decision = (Decision)i;
                return true;
            }
        }

        decision = default;
        return false;
    }

    private bool Bool() => Literal("true"u8) || Literal("false"u8);

    private bool Int32(out int value)
    {
        value = 0;
        if (!Integer(out var wide) || wide is < int.MinValue or > int.MaxValue)
        {
            return false;
        }

        value = (int)wide;
        return true;
    }

    private bool IntegerOrNull(out long? value)
    {
        value = null;
        if (Literal("null"u8))
        {
            return true;
        }

        if (!Integer(out var v))
        {
            return false;
        }

        value = v;
        return true;
    }

    /// <summary>An integer as <see cref="long.TryFormat(Span{byte}, out int, ReadOnlySpan{char}, IFormatProvider?)"/> writes it.</summary>
    private bool Integer(out long value)
    {
        value = 0;
        var negative = _pos < _line.Length && _line[_pos] == '-';
        var start = negative ? _pos + 1 : _pos;
        var end = start;
        while (end < _line.Length && end - start <= 19 && char.IsAsciiDigit((char)_line[end]))
        {
            end++;
        }

        var digits = end - start;
        if (digits is 0 or > 19 || (_line[start] == '0' && (digits > 1 || negative)))
        {
            return false;
        }

        ulong magnitude = 0;
        for (var i = start; i < end; i++)
        {
            magnitude = (magnitude * 10) + (uint)(_line[i] - '0');
        }

        if (magnitude > (negative ? (ulong)long.MaxValue + 1 : long.MaxValue))
        {
            return false;
        }

        value = negative ? (long)(0 - magnitude) : (long)magnitude;
        _pos = end;
        return true;
    }

    /// <summary>
    /// <c>"yyyy-MM-ddTHH:mm:ss.ffffffZ"</c> of a real time (years 1 to 9999, no leap second), as UTC ticks.
    /// </summary>
    private bool Time(out long ticks)
    {
        ticks = 0;
        const int Length = 29;
        if (_line.Length - _pos < Length)
        {
            return false;
        }

        var t = _line.Slice(_pos, Length);
        if (t[0] != '"' || t[5] != '-' || t[8] != '-' || t[11] != 'T' || t[14] != ':' || t[17] != ':' || t[20] != '.' || t[27] != 'Z' || t[28] != '"')
        {
            return false;
        }

        if (!Digits(t.Slice(1, 4), out var year) || !Digits(t.Slice(6, 2), out var month) || !Digits(t.Slice(9, 2), out var day)
            || !Digits(t.Slice(12, 2), out var hour) || !Digits(t.Slice(15, 2), out var minute) || !Digits(t.Slice(18, 2), out var second)
            || !Digits(t.Slice(21, 6), out var micros))
        {
            return false;
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        ticks = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).Ticks + (micros * 10L);
        _pos += Length;
        return true;
    }

    private static bool Digits(ReadOnlySpan<byte> text, out int value)
    {
        value = 0;
        foreach (var b in text)
        {
            if (!char.IsAsciiDigit((char)b))
            {
                return false;
            }

            value = (value * 10) + (b - '0');
        }

        return true;
    }

    /// <summary>64 lower-case hex digits, decoded into <paramref name="destination"/> (32 bytes).</summary>
    private bool Hex(Span<byte> destination)
    {
        const int Length = 64;
        if (_line.Length - _pos < Length || !HexEncoding.TryDecode(_line.Slice(_pos, Length), destination[..(Length / 2)]))
        {
            return false;
        }

        _pos += Length;
        return true;
    }
}
