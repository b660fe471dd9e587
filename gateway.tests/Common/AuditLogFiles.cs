using System.Text.Json;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Tests.Common;

/// <summary>Reads the audit log of a data directory as JSON, the way an auditor's script would: <c>log/*.jsonl</c>, one entry a line.</summary>
internal static class AuditLogFiles
{
    /// <summary>Every complete line of every segment, in file order; a last line without its newline (still being written, or torn) is left out.</summary>
    public static List<JsonElement> ReadEntries(string dataDirectory)
    {
        var entries = new List<JsonElement>();
        foreach (var line in ReadLines(dataDirectory))
        {
            using var document = JsonDocument.Parse(line);
            entries.Add(document.RootElement.Clone());
        }

        return entries;
    }

    /// <summary>The raw lines (without newline) of every segment, open or sealed (compressed), in order.</summary>
    public static List<byte[]> ReadLines(string dataDirectory)
    {
        var lines = new List<byte[]>();
        using var reader = new LogReader(dataDirectory);
        while (reader.Read())
        {
            if (!reader.Unterminated)
            {
                lines.Add(reader.Line.ToArray());
            }
        }

        return lines;
    }

    /// <summary>Every line of the log (decompressed) and every file under <c>checkpoints/</c>, as text (for "never in the log" checks).</summary>
    public static string AllText(string dataDirectory)
    {
        var text = new System.Text.StringBuilder();
        foreach (var line in ReadLines(dataDirectory))
        {
            text.Append(System.Text.Encoding.UTF8.GetString(line)).Append('\n');
        }

        foreach (var file in Directory.EnumerateFiles(LogLayout.CheckpointDirectory(dataDirectory)))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            text.Append(reader.ReadToEnd()).Append('\n');
        }

        return text.ToString();
    }

    public static string Kind(this JsonElement entry) => entry.GetProperty("kind").GetString()!;

    public static long Seq(this JsonElement entry) => entry.GetProperty("seq").GetInt64();

    /// <summary>The entry's body: the member named by its kind.</summary>
    public static JsonElement Body(this JsonElement entry) => entry.GetProperty(entry.Kind());
}
