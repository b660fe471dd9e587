using AuditGateway.Audit.Hashing;

namespace AuditGateway.Audit.Merkle;

/// <summary>A half-open range of leaf indexes [Start, End) whose Merkle tree hash is one proof element.</summary>
internal readonly record struct LeafRange(long Start, long End);

/// <summary>
/// The shapes of RFC 6962 §2.1.1/§2.1.2 proofs (which subtrees they consist of) and their
/// verification per RFC 9162 §2.1.3.2/§2.1.4.2.
/// </summary>
internal static class MerkleProofs
{
    /// <summary>The subtrees of the audit path of leaf <paramref name="index"/> in the tree of <paramref name="size"/>, in proof order.</summary>
    public static List<LeafRange> InclusionRanges(long index, long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, size);
        var ranges = new List<LeafRange>();
        Path(index, 0, size, ranges);
        return ranges;
    }

    /// <summary>The subtrees of the consistency proof from <paramref name="size1"/> to <paramref name="size2"/>, in proof order.</summary>
    public static List<LeafRange> ConsistencyRanges(long size1, long size2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size1, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size1, size2);
        var ranges = new List<LeafRange>();
        if (size1 < size2)
        {
            SubProof(size1, 0, size2, complete: true, ranges);
        }

        return ranges;
    }

    public static bool VerifyInclusion(ISha256 sha, long index, long size, ReadOnlySpan<byte> leafHash, IReadOnlyList<byte[]> proof, ReadOnlySpan<byte> root)
    {
        if (index < 0 || index >= size || leafHash.Length != MerkleHash.Size || root.Length != MerkleHash.Size)
        {
            return false;
        }

        Span<byte> r = stackalloc byte[MerkleHash.Size];
        leafHash.CopyTo(r);
        var fn = index;
        var sn = size - 1;
        foreach (var p in proof)
        {
            if (sn == 0 || p.Length != MerkleHash.Size)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                MerkleHash.Node(sha, p, r, r);
                while ((fn & 1) == 0 && fn != 0)
                {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
            else
            {
                MerkleHash.Node(sha, r, p, r);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0 && r.SequenceEqual(root);
    }

    public static bool VerifyConsistency(ISha256 sha, long size1, long size2, IReadOnlyList<byte[]> proof, ReadOnlySpan<byte> root1, ReadOnlySpan<byte> root2)
    {
        if (size1 < 1 || size1 > size2)
        {
            return false;
        }

        if (size1 == size2)
        {
            return proof.Count == 0 && root1.SequenceEqual(root2);
        }

        if (root1.Length != MerkleHash.Size || root2.Length != MerkleHash.Size || proof.Count == 0 || proof.Any(p => p.Length != MerkleHash.Size))
        {
            return false;
        }

        var path = new List<byte[]>(proof.Count + 1);
        if ((size1 & (size1 - 1)) == 0)
        {
            path.Add(root1.ToArray());
        }

        path.AddRange(proof);
        var fn = size1 - 1;
        var sn = size2 - 1;
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }

        Span<byte> fr = stackalloc byte[MerkleHash.Size];
        Span<byte> sr = stackalloc byte[MerkleHash.Size];
        path[0].CopyTo(fr);
        path[0].CopyTo(sr);
        foreach (var c in path.Skip(1))
        {
            if (sn == 0)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                MerkleHash.Node(sha, c, fr, fr);
                MerkleHash.Node(sha, c, sr, sr);
                while ((fn & 1) == 0 && fn != 0)
                {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
            else
            {
                MerkleHash.Node(sha, sr, c, sr);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0 && fr.SequenceEqual(root1) && sr.SequenceEqual(root2);
    }

    private static void Path(long index, long start, long end, List<LeafRange> ranges)
    {
        if (end - start == 1)
        {
            return;
        }

        var k = MerkleHash.SplitPoint(end - start);
        if (index < start + k)
        {
            Path(index, start, start + k, ranges);
            ranges.Add(new LeafRange(start + k, end));
        }
        else
        {
            Path(index, start + k, end, ranges);
            ranges.Add(new LeafRange(start, start + k));
        }
    }

    private static void SubProof(long m, long start, long end, bool complete, List<LeafRange> ranges)
    {
        var n = end - start;
        if (m == n)
        {
            if (!complete)
            {
                ranges.Add(new LeafRange(start, end));
            }

            return;
        }

        var k = MerkleHash.SplitPoint(n);
        if (m <= k)
        {
            SubProof(m, start, start + k, complete, ranges);
            ranges.Add(new LeafRange(start + k, end));
        }
        else
        {
            SubProof(m - k, start + k, end, complete: false, ranges);
            ranges.Add(new LeafRange(start, start + k));
        }
    }
}
