using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// Rebuilds the writer's state (next seq, chain head, Merkle frontier) by streaming the log from where
/// it begins (seq 0, or a pruned log's frontier), and
/// finds a torn tail: trailing lines of the last segment that are partial or unreadable, cut by
/// <see cref="CutTornTail"/>. An unreadable line followed by good ones is damage, not a crash:
/// opening fails.
/// </summary>
internal static class LogRecovery
{
    /// <param name="dataDirectory">The data directory.</param>
    /// <param name="checkpointSize">The last checkpoint's size: the root there is kept for the opener to compare.</param>
    /// <param name="sha">The SHA-256 in use.</param>
    /// <param name="logger">For the stored tree (<c>tree/</c>), rebuilt from the log on the way: a failure there is logged, never fatal.</param>
    public static RecoveredLog Recover(string dataDirectory, long checkpointSize, ISha256 sha, ILogger logger)
    {
        var rebuilt = StoredTree.DirectoryOf(dataDirectory) + ".new";
        if (Directory.Exists(rebuilt))
        {
            Directory.Delete(rebuilt, recursive: true);
        }

        var leaf = new byte[MerkleHash.Size];
        var lastLine = new byte[4096];
        var lastLineLength = 0;
        long badOffset = -1;
        string? lastGoodSegment = null;
        RecoveredLog result;
        TreeWriter? tree = null;
        try
        {
            using var reader = new LogReader(dataDirectory);

            result = new RecoveredLog(sha, reader.Start);
            if (result.Size == checkpointSize)
            {
                result.RootAtCheckpoint = result.Tree.Root();
            }

            tree = new TreeWriter(rebuilt, reader.SegmentFiles.Count > 0 ? reader.SegmentFiles[0].FirstSeq : result.Size, result.Size, logger, create: true);
            result.Tree.OnNode = tree.OnNode;
            while (reader.Read())
            {
                var line = reader.Line;
                if (reader.FirstInSegment)
                {
                    CheckSegmentName(reader.Segment, result.Size);
                    result.LastSegmentEntries = 0;
                    if (result.Size != reader.SegmentFiles[0].FirstSeq)
                    {
                        tree.Roll(reader.Segment.FirstSeq);
                    }
                }

                if (reader.InLastSegment)
                {
                    var entry = reader.Unterminated ? null : EntryParser.TryParse(line, out _);
                    if (entry is null || entry.Seq != result.Size)
                    {
                        badOffset = badOffset < 0 ? reader.Offset : badOffset;
                        result.TruncatedLines++;
                        continue;
                    }

                    if (badOffset >= 0)
                    {
                        throw new InvalidDataException(
                            $"{reader.Segment.Path}: an unreadable line at byte {badOffset} is followed by entry {entry.Seq}; the log is damaged, run 'auditgw verify'");
                    }

                    result.Last = entry;
                }
                else if (reader.Unterminated)
                {
                    throw new InvalidDataException($"{reader.Segment.Path} does not end with a newline; the log is damaged, run 'auditgw verify'");
                }

                if (!reader.Segment.Compressed && (result.Size - reader.Segment.FirstSeq) % SegmentLines.LinesPerFrame == 0)
                {
                    tree.LineAt(reader.Offset);
                }

                MerkleHash.Leaf(sha, line, leaf);
                result.Tree.Append(leaf);
                sha.Hash(line, result.LastLineHash);
                result.Size++;
                result.LastSegmentEntries++;
                result.LastSegmentBytes = reader.Offset + line.Length + 1;
                lastGoodSegment = reader.Segment.Path;
                if (result.Size == checkpointSize)
                {
                    result.RootAtCheckpoint = result.Tree.Root();
                }

                if (!reader.InLastSegment)
                {
                    if (line.Length > lastLine.Length)
                    {
                        lastLine = new byte[line.Length * 2];
                    }

                    line.CopyTo(lastLine);
                    lastLineLength = line.Length;
                }
            }

            var segments = reader.SegmentFiles;
            result.LastSegment = segments.Count == 0 ? null : segments[^1];
            if (result.LastSegment is { } last && last.Path != lastGoodSegment)
            {
                CheckSegmentName(last, result.Size);
                result.LastSegmentBytes = 0;
                result.LastSegmentEntries = 0;
            }
        }
        finally
        {
            tree?.Dispose();
        }

        result.Tree.OnNode = null;
        ReplaceStoredTree(dataDirectory, rebuilt);
        if (result.Last is null && lastLineLength > 0)
        {
            result.Last = EntryParser.TryParse(lastLine.AsSpan(0, lastLineLength), out _);
        }

        if (result.LastSegment is { } segment)
        {
            result.TruncatedBytes = new FileInfo(segment.Path).Length - result.LastSegmentBytes;
        }

        return result;
    }

    /// <summary>
    /// Cuts the torn tail <see cref="Recover"/> found. Only once the log is known to agree with its
    /// last checkpoint: nothing is cut from a log that is refused.
    /// </summary>
    public static void CutTornTail(RecoveredLog recovered)
    {
        if (recovered is { LastSegment: { } segment, TruncatedBytes: > 0 })
        {
            using var file = new FileStream(segment.Path, FileMode.Open, FileAccess.Write, FileShare.Read);
            file.SetLength(recovered.LastSegmentBytes);
            file.Flush(flushToDisk: true);
        }
    }

    /// <summary>The rebuilt <c>tree/</c> replaces the old one (a stop in between leaves none: the next start rebuilds it).</summary>
    private static void ReplaceStoredTree(string dataDirectory, string rebuilt)
    {
        var current = StoredTree.DirectoryOf(dataDirectory);
        if (Directory.Exists(current))
        {
            Directory.Delete(current, recursive: true);
        }

        // Not there when writing it failed: no stored tree this run, and proofs read the log.
        if (Directory.Exists(rebuilt))
        {
            Directory.Move(rebuilt, current);
        }
    }

    private static void CheckSegmentName(SegmentFile segment, long expectedFirstSeq)
    {
        if (segment.FirstSeq != expectedFirstSeq)
        {
            throw new InvalidDataException(
                $"{segment.Path} should start at seq {expectedFirstSeq}; the log is damaged, run 'auditgw verify'");
        }
    }
}
