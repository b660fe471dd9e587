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

    /// <summary>The raw lines (without newline) of every segment, in order.</summary>
    public static List<byte[]> ReadLines(string dataDirectory)
    {
        var lines = new List<byte[]>();
        var directory = LogLayout.LogDirectory(dataDirectory);
        if (!Directory.Exists(directory))
        {
            return lines;
        }

        foreach (var segment in Directory.GetFiles(directory, "*.jsonl").Order(StringComparer.Ordinal))
        {
            using var file = new FileStream(segment, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var memory = new MemoryStream();
            file.CopyTo(memory);
            var bytes = memory.ToArray();
            var start = 0;
            for (var i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] == (byte)'\n')
                {
                    lines.Add(bytes[start..i]);
                    start = i + 1;
                }
            }
        }

        return lines;
    }

    /// <summary>All bytes of every file under the data directory's <c>log/</c> and <c>checkpoints/</c>, as text (for "never in the log" checks).</summary>
    public static string AllText(string dataDirectory)
    {
        var text = new System.Text.StringBuilder();
        var files = Directory.EnumerateFiles(LogLayout.LogDirectory(dataDirectory))
            .Concat(Directory.EnumerateFiles(LogLayout.CheckpointDirectory(dataDirectory)));
        foreach (var file in files)
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
