using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit;

/// <summary>What streaming the existing log on open found, after cutting a torn tail.</summary>
internal sealed class RecoveredLog
{
    public long Size { get; set; }

    /// <summary>SHA-256 of the last line (zeros for an empty log): the next entry's <c>prev</c>.</summary>
    public byte[] LastLineHash { get; } = new byte[32];

    public MerkleFrontier Tree { get; } = new();

    /// <summary>The last entry, or null for an empty log.</summary>
    public LoggedEntry? Last { get; set; }

    /// <summary>The last segment, its entry count and byte length after the cut; null when there is none.</summary>
    public SegmentFile? LastSegment { get; set; }

    public long LastSegmentEntries { get; set; }

    public long LastSegmentBytes { get; set; }

    public long TruncatedBytes { get; set; }

    public int TruncatedLines { get; set; }

    /// <summary>The root of the first <c>checkpointSize</c> entries, when the log reached that size.</summary>
    public byte[]? RootAtCheckpoint { get; set; }

    /// <summary>True when the previous run did not end with a clean stop.</summary>
    public bool Unclean => TruncatedBytes > 0 || (Last is not null && Last.Body is not LifecycleBody { Event: LifecycleEvent.Stop });
}

/// <summary>
/// Rebuilds the writer's state (next seq, chain head, Merkle frontier) by streaming the log, and
/// cuts a torn tail: trailing lines of the last segment that are partial or unreadable. An
/// unreadable line followed by good ones is damage, not a crash: opening fails. So is a tail that
/// reaches back into entries the last checkpoint signed: those were durable, and are never cut.
/// </summary>
internal static class LogRecovery
{
    public static RecoveredLog Recover(string dataDirectory, long checkpointSize)
    {
        var result = new RecoveredLog();
        var leaf = new byte[MerkleHash.Size];
        var lastLine = new byte[4096];
        var lastLineLength = 0;
        long badOffset = -1;
        string? lastGoodSegment = null;
        using (var reader = new LogReader(dataDirectory))
        {
            while (reader.Read())
            {
                var line = reader.Line;
                if (reader.FirstInSegment)
                {
                    CheckSegmentName(reader.Segment, result.Size);
                    result.LastSegmentEntries = 0;
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

                MerkleHash.Leaf(line, leaf);
                result.Tree.Append(leaf);
                MerkleHash.Sha256(line, result.LastLineHash);
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

        if (result.Last is null && result.Size > 0)
        {
            result.Last = EntryParser.TryParse(lastLine.AsSpan(0, lastLineLength), out _);
        }

        if (result.LastSegment is { } segment)
        {
            using var file = new FileStream(segment.Path, FileMode.Open, FileAccess.Write, FileShare.Read);
            var cut = file.Length - result.LastSegmentBytes;
            if (cut > 0 && result.Size < checkpointSize)
            {
                // Signed entries were durable: a crash cannot have torn them. Cut nothing.
                throw new InvalidDataException(
                    $"{segment.Path}: the lines from byte {result.LastSegmentBytes} on are unreadable, but the last checkpoint covers "
                    + $"{checkpointSize} entries and only {result.Size} read before them; not cutting signed entries: the log is damaged "
                    + "or was written by another version of auditgw, run 'auditgw verify'");
            }

            if (cut > 0)
            {
                result.TruncatedBytes = cut;
                file.SetLength(result.LastSegmentBytes);
                file.Flush(flushToDisk: true);
            }
        }

        return result;
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
