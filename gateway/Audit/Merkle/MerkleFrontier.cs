using AuditGateway.Audit.Hashing;

namespace AuditGateway.Audit.Merkle;

/// <summary>
/// An append-only Merkle tree kept as its frontier: the roots of the perfect subtrees that
/// the binary digits of the size describe, largest first. O(log n) state; an append costs
/// amortized one node hash; the root costs at most log n hashes.
/// </summary>
internal sealed class MerkleFrontier(ISha256 sha)
{
    private readonly byte[] _hashes = new byte[64 * MerkleHash.Size];
    private int _count;

    public long Size { get; private set; }

    /// <summary>Appends a leaf by its leaf hash.</summary>
    public void Append(ReadOnlySpan<byte> leafHash)
    {
        leafHash.CopyTo(Slot(_count++));
        for (var s = Size; (s & 1) == 1; s >>= 1)
        {
            _count--;
            MerkleHash.Node(sha, Slot(_count - 1), Slot(_count), Slot(_count - 1));
        }

        Size++;
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
