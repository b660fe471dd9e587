using System.Globalization;
using System.Text;
using AuditGateway.Audit.Entries;

namespace AuditGateway.Audit.Storage;

/// <summary>
/// Where the local log begins. A whole log begins at seq 0 with an empty tree. After
/// <c>audit.retain.maxAge</c> pruned its oldest segments it begins at the first kept seq, with the
/// Merkle frontier of the tree of that size (the roots of its perfect subtrees, largest first) and the
/// SHA-256 of the last pruned line (the <c>prev</c> the first kept entry carries), read from
/// <c>log/NNNNNNNNNNNN.frontier</c>. Readers start their tree and chain from it, so the rest of the log
/// verifies and proves against the same roots as before.
/// </summary>
internal sealed record LogStart(long Seq, IReadOnlyList<byte[]> Frontier, byte[] Prev)
{
    private const string Header = "auditgw frontier v1";

    public static readonly LogStart Origin = new(0, [], new byte[32]);

    /// <summary>The file it was read from (null for <see cref="Origin"/>).</summary>
    public string? Path { get; init; }

    /// <summary>
    /// The start of the log the listed segments form, and the segments from it on. A list that begins
    /// at seq 0 is whole. Otherwise it begins at the first segment that has a frontier file; segments
    /// before that one are what an interrupted prune had not yet removed (its <c>pruned</c> entry is
    /// durable before the frontier file is written) and are left out.
    /// </summary>
    /// <exception cref="InvalidDataException">The log begins after seq 0 and no segment has a frontier file.</exception>
    public static (LogStart Start, List<SegmentFile> Segments) Find(string dataDirectory, List<SegmentFile> segments)
    {
        if (segments.Count == 0 || segments[0].FirstSeq == 0)
        {
            return (Origin, segments);
        }

        for (var i = 0; i < segments.Count; i++)
        {
            var path = LogLayout.FrontierPath(dataDirectory, segments[i].FirstSeq);
            if (File.Exists(path))
            {
                return (Read(path, segments[i].FirstSeq), segments[i..]);
            }
        }

        throw new InvalidDataException(
            $"the log begins at seq {segments[0].FirstSeq} ({segments[0].Name}) but no segment has a {LogLayout.FrontierExtension} file to start its tree from: "
            + "the entries before it are missing (pruned segments are replaced by one; copy them back from the archive, or run 'auditgw verify --archive')");
    }

    /// <summary>Reads a frontier file; any problem is an <see cref="InvalidDataException"/> naming it.</summary>
    public static LogStart Read(string path, long expectedSeq)
    {
        var lines = File.ReadAllLines(path, Encoding.ASCII);
        string Problem(string what) => $"{path}: {what}";
        if (lines.Length < 3 || lines[0] != Header)
        {
            throw new InvalidDataException(Problem($"not a frontier file (expected '{Header}', size and prev lines)"));
        }

        if (!lines[1].StartsWith("size ", StringComparison.Ordinal)
            || !long.TryParse(lines[1].AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var size)
            || size != expectedSeq)
        {
            throw new InvalidDataException(Problem($"the size line '{lines[1]}' does not name the segment it starts ({expectedSeq})"));
        }

        var prev = new byte[32];
        if (!lines[2].StartsWith("prev ", StringComparison.Ordinal) || !HexEncoding.TryDecode(lines[2].AsSpan(5), prev))
        {
            throw new InvalidDataException(Problem($"the prev line '{lines[2]}' is not 64 hex digits"));
        }

        var frontier = new List<byte[]>();
        foreach (var line in lines.Skip(3).Where(l => l.Length > 0))
        {
            var hash = new byte[32];
            if (!HexEncoding.TryDecode(line, hash))
            {
                throw new InvalidDataException(Problem($"the frontier line '{line}' is not 64 hex digits"));
            }

            frontier.Add(hash);
        }

        if (frontier.Count != long.PopCount(size))
        {
            throw new InvalidDataException(Problem($"a tree of size {size} has {long.PopCount(size)} frontier hashes, the file has {frontier.Count}"));
        }

        return new LogStart(size, frontier, prev) { Path = path };
    }

    /// <summary>Writes <c>log/NNNNNNNNNNNN.frontier</c> durably (temp file, fsync, rename).</summary>
    public void Write(string dataDirectory)
    {
        var text = new StringBuilder()
            .Append(Header).Append('\n')
            .Append("size ").Append(Seq.ToString(CultureInfo.InvariantCulture)).Append('\n')
            .Append("prev ").Append(Convert.ToHexStringLower(Prev)).Append('\n');
        foreach (var hash in Frontier)
        {
            text.Append(Convert.ToHexStringLower(hash)).Append('\n');
        }

        CheckpointStore.WriteDurably(LogLayout.FrontierPath(dataDirectory, Seq), Encoding.ASCII.GetBytes(text.ToString()));
    }
}
