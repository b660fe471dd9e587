using AuditGateway.Audit.Hashing;

namespace AuditGateway.Audit.Merkle;

/// <summary>
/// An append-only Merkle tree kept as its frontier: the roots of the perfect subtrees that
/// the binary digits of the size describe, largest first. O(log n) state; an append costs
/// amortized one node hash; the root costs at most log n hashes.
/// </summary>
internal sealed class MerkleFrontier(ISha256 sha)
{
    /// <summary>The heights of the subtrees kept on disk beside the leaves (<c>tree/</c>): 256 and 65,536 leaves.</summary>
    public const int LowLevel = 8;

    public const int HighLevel = 16;

    /// <summary>A leaf was appended, or a perfect subtree of height 8 or 16 completed: its height, its index among the subtrees of that height, its root.</summary>
    public delegate void NodeCompleted(int height, long index, ReadOnlySpan<byte> hash);

    private readonly byte[] _hashes = new byte[64 * MerkleHash.Size];
    private int _count;

    public long Size { get; private set; }

    /// <summary>Told of every leaf and every completed subtree of height 8 and 16 (the stored tree, <c>tree/</c>); null: nobody.</summary>
    public NodeCompleted? OnNode { get; set; }

    /// <summary>The tree of <paramref name="size"/> leaves whose frontier is <paramref name="nodes"/> (largest subtree first).</summary>
    public static MerkleFrontier Restore(ISha256 sha, long size, IReadOnlyList<byte[]> nodes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        if (nodes.Count != long.PopCount(size) || nodes.Any(n => n.Length != MerkleHash.Size))
        {
            throw new ArgumentException($"a tree of size {size} has {long.PopCount(size)} frontier hashes of {MerkleHash.Size} bytes", nameof(nodes));
        }

        var tree = new MerkleFrontier(sha);
        for (var i = 0; i < nodes.Count; i++)
        {
            nodes[i].CopyTo(tree.Slot(i));
        }

        tree._count = nodes.Count;
        tree.Size = size;
        return tree;
    }

    /// <summary>Where the perfect subtrees of a tree of <paramref name="size"/> leaves lie, left to right: their first leaf and height (the set bits of the size, largest first).</summary>
    public static IEnumerable<(long Start, int Height)> Subtrees(long size)
    {
        long at = 0;
        for (var height = 62; height >= 0; height--)
        {
            if ((size & (1L << height)) != 0)
            {
                yield return (at, height);
                at += 1L << height;
            }
        }
    }

    /// <summary>The roots of the perfect subtrees, largest (leftmost) first; subtree i holds 2^h leaves, h the i-th set bit of <see cref="Size"/> from the top.</summary>
    public List<byte[]> Nodes() => [.. Enumerable.Range(0, _count).Select(i => Slot(i).ToArray())];

    /// <summary>Appends a leaf by its leaf hash.</summary>
    public void Append(ReadOnlySpan<byte> leafHash) => Append(leafHash, 0);

    /// <summary>
    /// Appends a perfect subtree of 2^<paramref name="height"/> leaves by its root, as if its leaves
    /// were appended one by one; the tree's size must be a multiple of 2^height.
    /// </summary>
    public void Append(ReadOnlySpan<byte> subtreeRoot, int height)
    {
        if ((Size & ((1L << height) - 1)) != 0)
        {
            throw new InvalidOperationException($"a subtree of 2^{height} leaves cannot follow {Size} leaves");
        }

        subtreeRoot.CopyTo(Slot(_count++));
        var observer = OnNode;
        if (observer is not null && height == 0)
        {
            observer(0, Size, subtreeRoot);
        }

        var completed = height;
        for (var s = Size >> height; (s & 1) == 1; s >>= 1)
        {
            _count--;
            MerkleHash.Node(sha, Slot(_count - 1), Slot(_count), Slot(_count - 1));
            completed++;
            if (observer is not null && completed is LowLevel or HighLevel)
            {
                observer(completed, Size >> completed, Slot(_count - 1));
            }
        }

        Size += 1L << height;
    }

    /// <summary>Writes the root of the tree of the current size.</summary>
    public void Root(Span<byte> destination)
    {
        if (_count == 0)
        {
            MerkleHash.EmptyRoot(sha).CopyTo(destination);
            return;
        }

        Span<byte> acc = stackalloc byte[MerkleHash.Size];
        Slot(_count - 1).CopyTo(acc);
        for (var i = _count - 2; i >= 0; i--)
        {
            MerkleHash.Node(sha, Slot(i), acc, acc);
        }

        acc.CopyTo(destination);
    }

    public byte[] Root()
    {
        var root = new byte[MerkleHash.Size];
        Root(root);
        return root;
    }

    private Span<byte> Slot(int i) => _hashes.AsSpan(i * MerkleHash.Size, MerkleHash.Size);
}
