using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;

namespace AuditGateway.Audit.Entries;

/// <summary>
/// Writes the canonical JSON of the log: no white space, keys in the order the caller writes
/// them, UTF-8, and one string escaping (that of RFC 8785): <c>"</c> and <c>\</c> are
/// backslash-escaped, U+0008/09/0A/0C/0D become <c>\b \t \n \f \r</c>, other control characters
/// below U+0020 become <c>\u00xx</c> (lower-case hex), every other character is written as its
/// UTF-8 bytes; unpaired surrogates become U+FFFD. Integers are plain decimal.
/// </summary>
/// <remarks>
/// Not System.Text.Json's writer: its encoders escape by a Unicode table that can change
/// between runtime versions, and a log written today must re-encode to the same bytes forever.
/// </remarks>
internal sealed class CanonicalJsonWriter
{
    private static readonly SearchValues<byte> s_escaped = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'"', (byte)'\\']);

    private readonly int _prefix;
    private byte[] _buffer;
    private int _pos;
    private bool _comma;

    /// <param name="prefix">Bytes kept free (and zero) before the JSON, for a hash prefix.</param>
    public CanonicalJsonWriter(int prefix = 0, int initialCapacity = 2048)
    {
        _prefix = prefix;
        _buffer = new byte[Math.Max(initialCapacity, prefix + 16)];
        _pos = prefix;
    }

    /// <summary>The JSON written since the last <see cref="Reset"/>.</summary>
    public ReadOnlySpan<byte> Json => _buffer.AsSpan(_prefix, _pos - _prefix);

    /// <summary>The prefix bytes followed by the JSON.</summary>
    public ReadOnlySpan<byte> PrefixedJson => _buffer.AsSpan(0, _pos);

    /// <summary>Bytes written so far: a mark for <see cref="Since"/>.</summary>
    public int Length => _pos;

    /// <summary>What was written after <paramref name="mark"/> (a <see cref="Length"/> taken before).</summary>
    public ReadOnlySpan<byte> Since(int mark) => _buffer.AsSpan(mark, _pos - mark);

    /// <summary>A value this writer wrote before (taken with <see cref="Since"/>), written again as it was.</summary>
    public void Fragment(ReadOnlySpan<byte> json)
    {
        Separate();
        Raw(json);
        _comma = true;
    }

    public void Reset()
    {
        _pos = _prefix;
        _comma = false;
    }

    public void StartObject()
    {
        Separate();
        Put((byte)'{');
        _comma = false;
    }

    public void EndObject()
    {
        Put((byte)'}');
        _comma = true;
    }

    public void StartArray()
    {
        Separate();
        Put((byte)'[');
        _comma = false;
    }

    public void EndArray()
    {
        Put((byte)']');
        _comma = true;
    }

    /// <summary>A property name known to need no escaping (the schema's own ASCII names).</summary>
    public void Name(ReadOnlySpan<byte> asciiName)
    {
        Separate();
        Ensure(asciiName.Length + 3);
        _buffer[_pos++] = (byte)'"';
        asciiName.CopyTo(_buffer.AsSpan(_pos));
        _pos += asciiName.Length;
        _buffer[_pos++] = (byte)'"';
        _buffer[_pos++] = (byte)':';
        _comma = false;
    }

    /// <summary>A property name from data (claim names, evidence keys, patch objects).</summary>
    public void Name(string name)
    {
        Separate();
        Quoted(name);
        Put((byte)':');
        _comma = false;
    }

    public void String(string? value)
    {
        if (value is null)
        {
            Null();
            return;
        }

        Separate();
        Quoted(value);
        _comma = true;
    }

    /// <summary>One of a fixed set of names (an enum's JSON names, indexed by its value).</summary>
    public void Symbol(byte[][] names, int index)
    {
        if ((uint)index >= (uint)names.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, "not a defined enum value");
        }

        var ascii = names[index];
        Separate();
        Ensure(ascii.Length + 2);
        _buffer[_pos++] = (byte)'"';
        ascii.CopyTo(_buffer.AsSpan(_pos));
        _pos += ascii.Length;
        _buffer[_pos++] = (byte)'"';
        _comma = true;
    }

    public void Number(long value)
    {
        Separate();
        Ensure(20);
        value.TryFormat(_buffer.AsSpan(_pos), out var written, default, CultureInfo.InvariantCulture);
        _pos += written;
        _comma = true;
    }

    public void Number(long? value)
    {
        if (value is { } v)
        {
            Number(v);
        }
        else
        {
            Null();
        }
    }

    public void Bool(bool value)
    {
        Separate();
        Raw(value ? "true"u8 : "false"u8);
        _comma = true;
    }

    public void Null()
    {
        Separate();
        Raw("null"u8);
        _comma = true;
    }

    /// <summary>RFC 3339 UTC with exactly six fractional digits (the time is truncated to the microsecond).</summary>
    public void Timestamp(DateTimeOffset value)
    {
        Separate();
        Ensure(29);
        var utc = value.UtcDateTime;
        var t = _buffer.AsSpan(_pos, 29);
        t[0] = (byte)'"';
        Digits(t.Slice(1, 4), utc.Year);
        t[5] = (byte)'-';
        Digits(t.Slice(6, 2), utc.Month);
        t[8] = (byte)'-';
        Digits(t.Slice(9, 2), utc.Day);
        t[11] = (byte)'T';
        Digits(t.Slice(12, 2), utc.Hour);
        t[14] = (byte)':';
        Digits(t.Slice(15, 2), utc.Minute);
        t[17] = (byte)':';
        Digits(t.Slice(18, 2), utc.Second);
        t[20] = (byte)'.';
        Digits(t.Slice(21, 6), (int)(utc.Ticks % TimeSpan.TicksPerSecond / 10));
        t[27] = (byte)'Z';
        t[28] = (byte)'"';
        _pos += 29;
        _comma = true;
    }

    public void Timestamp(DateTimeOffset? value)
    {
        if (value is { } v)
        {
            Timestamp(v);
        }
        else
        {
            Null();
        }
    }

    /// <summary>Lower-case hex of <paramref name="bytes"/>, as a JSON string.</summary>
    public void Hex(ReadOnlySpan<byte> bytes)
    {
        Separate();
        Ensure(bytes.Length * 2 + 2);
        _buffer[_pos++] = (byte)'"';
        HexEncoding.Encode(bytes, _buffer.AsSpan(_pos));
        _pos += bytes.Length * 2;
        _buffer[_pos++] = (byte)'"';
        _comma = true;
    }

    public void StringArray(IReadOnlyList<string> values)
    {
        StartArray();
        for (var i = 0; i < values.Count; i++)
        {
            String(values[i]);
        }

        EndArray();
    }

    /// <summary>
    /// Arbitrary JSON (a JSON Patch): members in document order, strings re-escaped
    /// canonically, numbers as their literal text.
    /// </summary>
    public void Element(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                StartObject();
                foreach (var property in element.EnumerateObject())
                {
                    Name(property.Name);
                    Element(property.Value);
                }

                EndObject();
                break;
            case JsonValueKind.Array:
                StartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Element(item);
                }

                EndArray();
                break;
            case JsonValueKind.String:
                String(element.GetString());
                break;
            case JsonValueKind.Number:
                Separate();
                Raw(JsonMarshal.GetRawUtf8Value(element));
                _comma = true;
                break;
            case JsonValueKind.True:
                Bool(true);
                break;
            case JsonValueKind.False:
                Bool(false);
                break;
            default:
                Null();
                break;
        }
    }

    private static void Digits(Span<byte> destination, int value)
    {
        for (var i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = (byte)('0' + (value % 10));
            value /= 10;
        }
    }

    private void Separate()
    {
        if (_comma)
        {
            Put((byte)',');
        }
    }

    private void Quoted(string value)
    {
        Ensure(value.Length * 3 + 2);
        _buffer[_pos++] = (byte)'"';
        var destination = _buffer.AsSpan(_pos);
        Utf8.FromUtf16(value, destination, out _, out var written, replaceInvalidSequences: true);
        var text = destination[..written];
        var first = text.IndexOfAny(s_escaped);
        if (first < 0)
        {
            _pos += written;
        }
        else
        {
            _pos += first;
            var rest = text[first..].ToArray();
            Ensure(rest.Length * 6 + 1);
            foreach (var b in rest)
            {
                Escape(b);
            }
        }

        _buffer[_pos++] = (byte)'"';
    }

    private void Escape(byte b)
    {
        switch (b)
        {
            case (byte)'"':
            case (byte)'\\':
                _buffer[_pos++] = (byte)'\\';
                _buffer[_pos++] = b;
                break;
            case (byte)'\b':
                Raw("\\b"u8);
                break;
            case (byte)'\t':
                Raw("\\t"u8);
                break;
            case (byte)'\n':
                Raw("\\n"u8);
                break;
            case (byte)'\f':
                Raw("\\f"u8);
                break;
            case (byte)'\r':
                Raw("\\r"u8);
                break;
            case < 0x20:
                Raw("\\u00"u8);
                HexEncoding.Encode([b], _buffer.AsSpan(_pos));
                _pos += 2;
                break;
            default:
                _buffer[_pos++] = b;
                break;
        }
    }

    private void Raw(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_pos));
        _pos += bytes.Length;
    }

    private void Put(byte b)
    {
        Ensure(1);
        _buffer[_pos++] = b;
    }

    private void Ensure(int count)
    {
        if (_buffer.Length - _pos < count)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _pos + count));
        }
    }
}
