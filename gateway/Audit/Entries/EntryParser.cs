using System.Text.Json;

namespace AuditGateway.Audit.Entries;

/// <summary>Reads log lines back into entries and checks that they are canonical.</summary>
internal static class EntryParser
{
    /// <summary>Parses one line (without its newline); null with a reason when it is not a well-formed entry.</summary>
    public static LoggedEntry? TryParse(ReadOnlySpan<byte> line, out string? error)
    {
        try
        {
            error = null;
            return EntryReader.Read(line);
        }
        catch (Exception ex) when (ex is FormatException or JsonException or InvalidOperationException)
        {
            error = $"unparseable: {ex.Message}";
            return null;
        }
    }

    /// <summary>
    /// Parses <paramref name="line"/> and re-encodes it with <paramref name="encoder"/>; the line
    /// is canonical when the bytes are equal. Returns the entry, or null with a reason.
    /// </summary>
    public static LoggedEntry? TryParseCanonical(ReadOnlySpan<byte> line, EntryEncoder encoder, out string? error)
    {
        var entry = TryParse(line, out error);
        error = entry is null ? error : CanonicalError(entry, line, encoder);
        return error is null ? entry : null;
    }

    /// <summary>Null when <paramref name="entry"/> re-encodes to exactly <paramref name="line"/>; otherwise why not.</summary>
    public static string? CanonicalError(LoggedEntry entry, ReadOnlySpan<byte> line, EntryEncoder encoder)
    {
        try
        {
            encoder.Encode(entry);
        }
        catch (FormatException ex)
        {
            return ex.Message;
        }

        return encoder.Line.SequenceEqual(line) ? null : "not canonical: the line does not re-encode to the same bytes";
    }
}
