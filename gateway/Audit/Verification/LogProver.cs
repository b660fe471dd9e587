using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Verification;

/// <summary>An inclusion proof of one entry, with everything an auditor needs to check it.</summary>
internal sealed record InclusionProof(long LeafIndex, long TreeSize, byte[] LeafHash, byte[] RootHash, IReadOnlyList<byte[]> Proof, string Entry);

/// <summary>A consistency proof between two tree sizes.</summary>
internal sealed record ConsistencyProof(long Size1, long Size2, byte[] Root1, byte[] Root2, IReadOnlyList<byte[]> Proof);

/// <summary>
/// Builds proofs from the log files: the proof's subtrees, the roots and the leaf are hashed in
/// one streaming pass over the first <c>size</c> entries (O(size) reads, O(log size) memory). A pruned
/// log starts from its frontier: proofs about kept entries are the same as before the prune.
/// </summary>
internal static class LogProver
{
    public static InclusionProof Inclusion(string dataDirectory, long seq, long size, ISha256 sha)
    {
        if (seq < 0 || seq >= size)
        {
            throw new ArgumentOutOfRangeException(nameof(seq), $"seq {seq} is not in a tree of size {size}");
        }

        var ranges = MerkleProofs.InclusionRanges(seq, size);
        if (FromStoredTree(dataDirectory, sha, [.. ranges, new LeafRange(0, size), new LeafRange(seq, seq + 1)], size) is { } stored
            && ReadLine(dataDirectory, seq) is { } line
            && MerkleHash.Leaf(sha, line).AsSpan().SequenceEqual(stored[^1]))
        {
            return new InclusionProof(seq, size, stored[^1], stored[^2], stored[..ranges.Count], System.Text.Encoding.UTF8.GetString(line));
        }

        string? entry = null;
        var hashes = Hash(dataDirectory, sha, [.. ranges, new LeafRange(0, size), new LeafRange(seq, seq + 1)], (index, line) =>
        {
            if (index == seq)
            {
                entry = System.Text.Encoding.UTF8.GetString(line);
            }
        });
        return new InclusionProof(seq, size, hashes[^1], hashes[^2], hashes[..ranges.Count], entry!);
    }

    public static ConsistencyProof Consistency(string dataDirectory, long size1, long size2, ISha256 sha)
    {
        if (size1 < 1 || size1 > size2)
        {
            throw new ArgumentOutOfRangeException(nameof(size1), $"a consistency proof needs 0 < from <= to, not {size1} and {size2}");
        }

        var ranges = MerkleProofs.ConsistencyRanges(size1, size2);
        if (FromStoredTree(dataDirectory, sha, [.. ranges, new LeafRange(0, size1), new LeafRange(0, size2)], size1, size2) is { } stored)
        {
            return new ConsistencyProof(size1, size2, stored[^2], stored[^1], stored[..ranges.Count]);
        }

        var hashes = Hash(dataDirectory, sha, [.. ranges, new LeafRange(0, size1), new LeafRange(0, size2)], null);
        return new ConsistencyProof(size1, size2, hashes[^2], hashes[^1], hashes[..ranges.Count]);
    }

    private delegate void LineVisitor(long index, ReadOnlySpan<byte> line);

    /// <summary>
    /// The ranges' hashes from <c>tree/</c> (and, before a pruned log's start, its frontier): each
    /// range fed the largest stored subtrees that fit, leaves only at its edges. Null, so the log is
    /// read instead, when a node is missing, or when the roots it gives are not those of the signed
    /// checkpoints of <paramref name="checkedSizes"/> (a stale or damaged stored tree).
    /// </summary>
    internal static List<byte[]>? FromStoredTree(string dataDirectory, ISha256 sha, List<LeafRange> ranges, params long[] checkedSizes)
    {
        var signed = new List<byte[]>();
        foreach (var size in checkedSizes)
        {
            var path = LogLayout.CheckpointPath(dataDirectory, size);
            if (!File.Exists(path) || CheckpointStore.TryRead(path, out _) is not { } checkpoint)
            {
                return null;
            }

            signed.Add(checkpoint.Checkpoint.Root);
        }

        using var tree = StoredTreeReader.Open(dataDirectory);
        if (tree is null)
        {
            return null;
        }

        var start = LogStart.Find(dataDirectory, LogLayout.Segments(dataDirectory)).Start;
        var frontier = FrontierNodes(start);
        var hashes = new List<byte[]>(ranges.Count);
        var node = new byte[MerkleHash.Size];
        foreach (var range in ranges)
        {
            var hash = new MerkleFrontier(sha);
            for (var p = range.Start; p < range.End;)
            {
                var height = -1;
                if (p < start.Seq)
                {
                    if (frontier.TryGetValue(p, out var pruned) && p + (1L << pruned.Height) <= range.End && ((p - range.Start) & ((1L << pruned.Height) - 1)) == 0)
                    {
                        pruned.Hash.CopyTo(node, 0);
                        height = pruned.Height;
                    }
                }
                else
                {
                    foreach (var h in (ReadOnlySpan<int>)[MerkleFrontier.HighLevel, MerkleFrontier.LowLevel, 0])
                    {
                        var n = 1L << h;
                        if ((p & (n - 1)) == 0 && ((p - range.Start) & (n - 1)) == 0 && p + n <= range.End && tree.TryNode(h, p >> h, node))
                        {
                            height = h;
                            break;
                        }
                    }
                }

                if (height < 0)
                {
                    return null;
                }

                hash.Append(node, height);
                p += 1L << height;
            }

            hashes.Add(hash.Root());
        }

        // Every checked size's root, [0, size), is one of the ranges: it must be the signed one.
        for (var i = 0; i < checkedSizes.Length; i++)
        {
            var at = ranges.FindLastIndex(r => r.Start == 0 && r.End == checkedSizes[i]);
            if (at < 0 || !hashes[at].AsSpan().SequenceEqual(signed[i]))
            {
                return null;
            }
        }

        return hashes;
    }

    /// <summary>A pruned log's frontier as subtrees: position → (height, root), left to right.</summary>
    private static Dictionary<long, (int Height, byte[] Hash)> FrontierNodes(LogStart start) =>
        MerkleFrontier.Subtrees(start.Seq).Select((s, i) => (s.Start, (s.Height, start.Frontier[i]))).ToDictionary(n => n.Start, n => n.Item2);

    /// <summary>The line of entry <paramref name="seq"/>, read from its segment alone (one frame of it when sealed); null if it is not there. The caller checks it against the leaf.</summary>
    private static byte[]? ReadLine(string dataDirectory, long seq)
    {
        var segments = LogLayout.Segments(dataDirectory);
        var index = segments.FindLastIndex(s => s.FirstSeq <= seq);
        return index >= 0 ? SegmentLines.Read(segments[index], seq - segments[index].FirstSeq) : null;
    }

    private static List<byte[]> Hash(string dataDirectory, ISha256 sha, List<LeafRange> ranges, LineVisitor? visit)
    {
        var hasher = new RangeHasher(ranges, sha);
        Span<byte> leaf = stackalloc byte[MerkleHash.Size];
        long index;
        using (var reader = new LogReader(dataDirectory))
        {
            index = reader.Start.Seq;
            if (index > 0)
            {
                try
                {
                    hasher.AddFrontier(index, reader.Start.Frontier);
                }
                catch (InvalidOperationException e)
                {
                    throw new ArgumentOutOfRangeException(nameof(ranges), $"{e.Message}; prove it from the archive: --data ARCHIVE_DIR");
                }
            }

            while (index < hasher.End && reader.Read() && !reader.Unterminated)
            {
                MerkleHash.Leaf(sha, reader.Line, leaf);
                hasher.Add(index, leaf);
                visit?.Invoke(index, reader.Line);
                index++;
            }
        }

        if (index < hasher.End)
        {
            throw new ArgumentOutOfRangeException(nameof(ranges), $"the log has {index} entries, fewer than the tree size {hasher.End}");
        }

        return hasher.Hashes();
    }
}
