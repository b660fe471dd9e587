using System.Globalization;

namespace AuditGateway.Audit.Storage;

/// <summary>A log segment: its first seq and path; <see cref="Compressed"/>: a sealed <c>.jsonl.zst</c>.</summary>
internal readonly record struct SegmentFile(long FirstSeq, string Path)
{
    public bool Compressed => Path.EndsWith(LogLayout.SealedExtension, StringComparison.Ordinal);

    /// <summary>The file name (<c>000000000000.jsonl.zst</c>).</summary>
    public string Name => System.IO.Path.GetFileName(Path);
}

/// <summary>
/// The files under the data directory: <c>log/NNNNNNNNNNNN.jsonl</c> (named by first seq; sealed
/// segments compressed as <c>.jsonl.zst</c>),
/// <c>log/NNNNNNNNNNNN.frontier</c> where a pruned log begins,
/// <c>checkpoints/NNNNNNNNNNNN.note</c> (named by tree size) and <c>checkpoints/latest</c>, <c>keys/</c>.
/// </summary>
internal static class LogLayout
{
    public const string SegmentExtension = ".jsonl";
    public const string SealedExtension = ".jsonl.zst";
    public const string CheckpointExtension = ".note";
    public const string FrontierExtension = ".frontier";
    private const int NameDigits = 12;

    public static string LogDirectory(string data) => Path.Combine(data, "log");

    public static string CheckpointDirectory(string data) => Path.Combine(data, "checkpoints");

    public static string KeysDirectory(string data) => Path.Combine(data, "keys");

    public static string LatestCheckpoint(string data) => Path.Combine(CheckpointDirectory(data), "latest");

    public static string SegmentPath(string data, long firstSeq) =>
        Path.Combine(LogDirectory(data), Number(firstSeq) + SegmentExtension);

    public static string SealedPath(string data, long firstSeq) =>
        Path.Combine(LogDirectory(data), Number(firstSeq) + SealedExtension);

    /// <summary>The tree's frontier where a pruned log begins (<see cref="LogStart"/>).</summary>
    public static string FrontierPath(string data, long firstSeq) =>
        Path.Combine(LogDirectory(data), Number(firstSeq) + FrontierExtension);

    /// <summary>The frontier files, by the seq they start at.</summary>
    public static List<SegmentFile> Frontiers(string data) => Numbered(LogDirectory(data), FrontierExtension);

    public static string CheckpointPath(string data, long size) =>
        Path.Combine(CheckpointDirectory(data), Number(size) + CheckpointExtension);

    /// <summary>
    /// The segments in seq order, open and sealed; files with other names are not part of the log.
    /// When a segment is there both raw and compressed (a stop between the two steps of sealing), the
    /// raw one counts: the compressed copy is only complete once the raw one is gone.
    /// </summary>
    public static List<SegmentFile> Segments(string data)
    {
        var raw = Numbered(LogDirectory(data), SegmentExtension);
        var rawSeqs = raw.Select(s => s.FirstSeq).ToHashSet();
        var all = raw.Concat(Numbered(LogDirectory(data), SealedExtension).Where(s => !rawSeqs.Contains(s.FirstSeq))).ToList();
        all.Sort((a, b) => a.FirstSeq.CompareTo(b.FirstSeq));
        return all;
    }

    /// <summary>The checkpoint files in size order (without <c>latest</c>).</summary>
    public static List<SegmentFile> Checkpoints(string data) => Numbered(CheckpointDirectory(data), CheckpointExtension);

    private static string Number(long n) => n.ToString("D" + NameDigits, CultureInfo.InvariantCulture);

    private static List<SegmentFile> Numbered(string directory, string extension)
    {
        var files = new List<SegmentFile>();
        if (!Directory.Exists(directory))
        {
            return files;
        }

        foreach (var path in Directory.EnumerateFiles(directory, "*" + extension))
        {
            var name = Path.GetFileName(path);
            if (!name.EndsWith(extension, StringComparison.Ordinal))
            {
                continue;
            }

            var stem = name[..^extension.Length];
            if (stem.Length == NameDigits && stem.All(char.IsAsciiDigit))
            {
                files.Add(new SegmentFile(long.Parse(stem, CultureInfo.InvariantCulture), path));
            }
        }

        files.Sort((a, b) => a.FirstSeq.CompareTo(b.FirstSeq));
        return files;
    }
}
