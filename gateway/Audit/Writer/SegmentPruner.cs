using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// <c>audit.retain.maxAge</c>: removes the oldest local sealed segments once every entry in them is
/// older than that, and only once they are in the archive when <c>audit.archive.dir</c> is set. Never
/// the open segment, never by size (a request flood must not push evidence out). A prune is recorded
/// first: a durable <c>lifecycle</c> <c>pruned</c> entry names the seq range, the files and the Merkle
/// frontier at the range's end; then <c>log/NNNNNNNNNNNN.frontier</c> is written for the first kept seq,
/// and only then are the segments (and the checkpoints inside the range) removed, oldest first. A stop
/// at any step leaves a log that reads and verifies; removal left unfinished is finished by the next
/// prune. Runs on the <see cref="SegmentSealer"/>'s loop, so it never races a segment being sealed.
/// </summary>
internal sealed partial class SegmentPruner(
    AuditOptions options,
    ISha256 sha,
    ILogger logger,
    Func<SignedCheckpoint?> latest,
    Func<AuditEntry, CancellationToken, Task<AuditReceipt>> appendDurable)
{
    private readonly TimeSpan _maxAge = options.RetainMaxAge ?? throw new ArgumentException("audit.retain.maxAge is not set", nameof(options));

    /// <summary>How often the log is looked at: a tenth of the retention, within [1 s, 1 min].</summary>
    public TimeSpan Interval => TimeSpan.FromTicks(Math.Clamp(_maxAge.Ticks / 10, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute));

    /// <summary>Prunes what is due; returns how many segments were removed.</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        var data = options.DataDirectory;
        var all = LogLayout.Segments(data);
        var (start, kept) = LogStart.Find(data, all);
        FinishRemoval(all.Where(s => s.FirstSeq < start.Seq).ToList(), start);

        var due = Due(kept);
        if (due == 0)
        {
            return 0;
        }

        var end = kept[due].FirstSeq;
        if (latest() is not { } checkpoint || checkpoint.Checkpoint.Size < end)
        {
            // The frontier at the new start must be provable by a signed checkpoint before its entries go.
            return 0;
        }

        var removed = kept[..due];
        var next = Advance(start, removed, end);
        var names = removed.Select(s => s.Name).ToList();
        var body = new LifecycleBody
        {
            Event = LifecycleEvent.Pruned,
            Version = options.Version,
            Pruned = new PrunedRange
            {
                FromSeq = start.Seq,
                ToSeq = end - 1,
                Segments = names,
                Frontier = [.. next.Frontier.Select(Convert.ToHexStringLower)],
                Archived = options.ArchiveDirectory is not null,
            },
        };
        await appendDurable(new AuditEntry(options.TimeProvider.GetUtcNow(), body), cancellationToken);

        next.Write(data);
        FileSpace.SyncDirectory(LogLayout.LogDirectory(data));
        FinishRemoval(removed, next);
        Log.Pruned(logger, names.Count, start.Seq, end - 1, _maxAge, options.ArchiveDirectory is not null);
        return removed.Count;
    }

    /// <summary>How many of the first kept segments are due: sealed, archived if there is an archive, and with every entry older than the retention.</summary>
    private int Due(List<SegmentFile> kept)
    {
        var cutoff = options.TimeProvider.GetUtcNow() - _maxAge;
        var due = 0;

        // The last segment is the open one; a segment's entries are all older than the next segment's first.
        while (due < kept.Count - 1
            && kept[due].Compressed
            && (options.ArchiveDirectory is not { } archive || File.Exists(LogLayout.SealedPath(archive, kept[due].FirstSeq)))
            && FirstEntryTime(kept[due + 1]) is { } time
            && time <= cutoff)
        {
            due++;
        }

        return due;
    }

    /// <summary>The start after <paramref name="removed"/>: the tree and chain carried over their lines.</summary>
    private LogStart Advance(LogStart start, List<SegmentFile> removed, long end)
    {
        var tree = MerkleFrontier.Restore(sha, start.Seq, start.Frontier);
        var prev = start.Prev.ToArray();
        Span<byte> leaf = stackalloc byte[MerkleHash.Size];
        using (var reader = new LogReader(options.DataDirectory, _ => removed))
        {
            while (reader.Read())
            {
                if (reader.Unterminated)
                {
                    throw new InvalidDataException($"{reader.Segment.Path} ends in the middle of a line; not pruning a damaged segment, run 'auditgw verify'");
                }

                MerkleHash.Leaf(sha, reader.Line, leaf);
                tree.Append(leaf);
                sha.Hash(reader.Line, prev);
            }
        }

        if (tree.Size != end)
        {
            throw new InvalidDataException($"segments {removed[0].Name}..{removed[^1].Name} hold {tree.Size - start.Seq} entries, not {end - start.Seq}; not pruning, run 'auditgw verify'");
        }

        return new LogStart(end, tree.Nodes(), prev);
    }

    /// <summary>Removes pruned segments oldest first, then the frontier file and checkpoints they made obsolete.</summary>
    private void FinishRemoval(List<SegmentFile> removed, LogStart start)
    {
        var data = options.DataDirectory;
        foreach (var segment in removed)
        {
            File.Delete(segment.Path);
            File.Delete(StoredTree.LeavesPath(StoredTree.DirectoryOf(data), segment.FirstSeq));
        }

        var obsolete = LogLayout.Frontiers(data).Where(f => f.FirstSeq < start.Seq).ToList();
        foreach (var frontier in obsolete)
        {
            File.Delete(frontier.Path);
        }

        if (removed.Count + obsolete.Count > 0)
        {
            FileSpace.SyncDirectory(LogLayout.LogDirectory(data));
        }

        // Checkpoints inside the pruned range can only be checked against the archive, which has its own.
        var checkpoints = LogLayout.Checkpoints(data).Where(c => c.FirstSeq < start.Seq).ToList();
        foreach (var checkpoint in checkpoints)
        {
            File.Delete(checkpoint.Path);
        }

        if (checkpoints.Count > 0)
        {
            FileSpace.SyncDirectory(LogLayout.CheckpointDirectory(data));
        }
    }

    private static DateTimeOffset? FirstEntryTime(SegmentFile segment) =>
        SegmentLines.Read(segment, 0) is { } line ? EntryParser.TryParse(line, out _)?.Timestamp : null;

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Information, "Pruned {Count} audit log segments (seq {From}..{To}), older than audit.retain.maxAge {MaxAge}; archived first: {Archived}")]
        public static partial void Pruned(ILogger logger, int count, long from, long to, TimeSpan maxAge, bool archived);
    }
}
