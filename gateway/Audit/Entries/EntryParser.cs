using System.Text.Json;

namespace AuditGateway.Audit.Entries;

/// <summary>Reads log lines back into entries and checks that they are canonical.</summary>
internal static class EntryParser
{
    /// <summary>Parses one line (without its newline); null with a reason when it is not a well-formed entry.</summary>
    public static LoggedEntry? TryParse(ReadOnlySpan<byte> line, out string? error)
    {
        LogLine? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(line, AuditJsonContext.Default.LogLine);
        }
        catch (JsonException ex)
        {
            error = $"unparseable: {ex.Message}";
            return null;
        }
        catch (InvalidOperationException ex)
        {
            error = $"unparseable: {ex.Message}";
            return null;
        }

        if (parsed is null)
        {
            error = "unparseable: not an object";
            return null;
        }

        AuditBody? body = parsed.Kind switch
        {
            AuditKind.Request => parsed.Request,
            AuditKind.Config => parsed.Config,
            AuditKind.Security => parsed.Security,
            _ => parsed.Lifecycle,
        };
        var bodies = (parsed.Request is null ? 0 : 1) + (parsed.Config is null ? 0 : 1)
            + (parsed.Security is null ? 0 : 1) + (parsed.Lifecycle is null ? 0 : 1);
        if (body is null || bodies != 1)
        {
            error = $"the body does not match kind {parsed.Kind}";
            return null;
        }

        error = null;
        return new LoggedEntry(parsed.Seq, parsed.Ts, parsed.Node, parsed.Prev, body);
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
