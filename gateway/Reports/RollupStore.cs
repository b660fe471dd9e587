using System.Globalization;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Reports;

/// <summary>
/// Where rollups live: <c>rollup/&lt;first seq&gt;.json</c> in the data directory, one per block of
/// <see cref="BlockSize"/> seqs. Blocks are aligned to multiples of the size, except the first of a
/// pruned log, which begins where the log does.
/// </summary>
internal static class RollupStore
{
    public const long BlockSize = 65_536;

    private const string Extension = ".rollup";

    public static string DirectoryOf(string data) => Path.Combine(data, "rollup");

    public static string PathOf(string data, long firstSeq) =>
        Path.Combine(DirectoryOf(data), firstSeq.ToString("D20", CultureInfo.InvariantCulture) + Extension);

    /// <summary>Minutes since the Unix epoch of <paramref name="time"/>, rounded down.</summary>
    public static long MinuteOf(DateTimeOffset time) => (long)Math.Floor(time.ToUnixTimeMilliseconds() / 60_000.0);

    /// <summary>One past the last seq of the block that holds <paramref name="seq"/>.</summary>
    public static long BlockEnd(long seq) => ((seq / BlockSize) + 1) * BlockSize;

    /// <summary>The rollup files, by first seq (their names; the contents are read by <see cref="TryRead"/>).</summary>
    public static List<long> List(string data)
    {
        var directory = DirectoryOf(data);
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var found = new List<long>();
        foreach (var path in Directory.EnumerateFiles(directory, "*" + Extension))
        {
            if (long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var first))
            {
                found.Add(first);
            }
        }

        found.Sort();
        return found;
    }

    /// <summary>The rollup of the block starting at <paramref name="firstSeq"/>; null with why when it is missing, unreadable or of another version.</summary>
    public static RollupFile? TryRead(string data, long firstSeq, out string? problem)
    {
        var path = PathOf(data, firstSeq);
        try
        {
            var bytes = File.ReadAllBytes(path);
            if (RollupCodec.VersionOf(bytes) is { } version && version != RollupFile.CurrentVersion)
            {
                problem = $"version {version}, not {RollupFile.CurrentVersion}";
                return null;
            }

            var file = RollupCodec.Decode(bytes);
            problem = file.EndSeq <= file.FirstSeq || file.FirstSeq != firstSeq || file.EndSeq > BlockEnd(firstSeq)
                ? $"it names seqs {file.FirstSeq}..{file.EndSeq - 1}"
                : null;
            return problem is null ? file : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            problem = e is FileNotFoundException or DirectoryNotFoundException ? "missing" : e.Message;
            return null;
        }
    }

    private static void ReadSegment(SegmentFile segment, ref long next, long to, Action<LoggedEntry> visit, ref string? bad)
    {
        var seq = next;
        string? problem = null;
        SegmentLines.ForEach(segment, next - segment.FirstSeq, (index, line) =>
        {
            if (problem is not null)
            {
                return;
            }

            var entry = EntryParser.TryParse(line, out var error);
            if (entry is null || entry.Seq != segment.FirstSeq + index)
            {
                problem = $"seq {segment.FirstSeq + index}: {error ?? "the line has another seq"}";
                return;
            }

            visit(entry);
            seq = entry.Seq + 1;
        }, to - segment.FirstSeq);
        next = seq;
        bad = problem;
    }

    /// <summary>Writes a rollup whole (a temporary file renamed into place): a reader sees the old file, the new one, or none.</summary>
    public static void Write(string data, RollupFile file)
    {
        Directory.CreateDirectory(DirectoryOf(data));
        var path = PathOf(data, file.FirstSeq);
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, RollupCodec.Encode(file));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>
    /// Parses the entries with seqs in [<paramref name="from"/>, <paramref name="to"/>) (null: to the end of
    /// the log) from the segments and hands each over in order; false (with why) at the first line that is
    /// missing or not an entry of that seq.
    /// </summary>
    public static bool TryReadEntries(IReadOnlyList<SegmentFile> segments, long from, long? to, Action<LoggedEntry> visit, out string? problem)
    {
        var last = to ?? long.MaxValue;
        var next = from;
        string? bad = null;
        for (var i = 0; i < segments.Count && next < last && bad is null; i++)
        {
            var end = i + 1 < segments.Count ? segments[i + 1].FirstSeq : long.MaxValue;
            var segment = segments[i];
            if (end <= next)
            {
                continue;
            }

            try
            {
                ReadSegment(segment, ref next, Math.Min(end, last), visit, ref bad);
            }
            catch (FileNotFoundException) when (!segment.Compressed)
            {
                // Sealed while being read: the compressed copy holds the same lines.
                ReadSegment(segment with { Path = segment.Path + ".zst" }, ref next, Math.Min(end, last), visit, ref bad);
            }
        }

        problem = bad ?? (next < to ? $"seqs {next}..{to - 1} are not in the log" : null);
        return problem is null;
    }
}
