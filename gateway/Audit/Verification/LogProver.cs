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
        var hashes = Hash(dataDirectory, sha, [.. ranges, new LeafRange(0, size1), new LeafRange(0, size2)], null);
        return new ConsistencyProof(size1, size2, hashes[^2], hashes[^1], hashes[..ranges.Count]);
    }

    private delegate void LineVisitor(long index, ReadOnlySpan<byte> line);

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
