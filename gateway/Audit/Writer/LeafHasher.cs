using AuditGateway.Audit.Merkle;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// Appends the leaf hash of each line to the Merkle tree, in order. In lanes, the leaves wait until
/// there are <see cref="Sha256x16.Lanes"/> of them and are hashed together (or one by one when too
/// few are left for a pass over all lanes to pay); otherwise each is hashed as it comes.
/// </summary>
internal sealed class LeafHasher(MerkleFrontier tree, bool inLanes)
{
    private const int FewestForLanes = 8;

    private readonly (int Start, int Length)[] _pending = new (int, int)[Sha256x16.Lanes];
    private readonly byte[] _laneHashes = new byte[Sha256x16.Lanes * MerkleHash.Size];
    private readonly byte[] _leaf = new byte[MerkleHash.Size];
    private int _pendingCount;

    /// <summary>
    /// The leaf of the line at <paramref name="lines"/>[<paramref name="start"/>, + <paramref name="length"/>);
    /// <paramref name="leafInput"/> is the same line after the leaf prefix 0x00, as the encoder holds it.
    /// </summary>
    public void Add(byte[] lines, int start, int length, ReadOnlySpan<byte> leafInput)
    {
        if (!inLanes)
        {
            MerkleHash.Sha256(leafInput, _leaf);
            tree.Append(_leaf);
            return;
        }

        _pending[_pendingCount++] = (start, length);
        if (_pendingCount == Sha256x16.Lanes)
        {
            AppendPending(lines);
        }
    }

    /// <summary>Appends the leaves still waiting for a full group; <paramref name="lines"/> is the buffer they lie in.</summary>
    public void AppendPending(ReadOnlySpan<byte> lines)
    {
        var pending = _pending.AsSpan(0, _pendingCount);
        _pendingCount = 0;
        if (pending.Length >= FewestForLanes)
        {
            Sha256x16.HashPrefixed(0x00, lines, pending, _laneHashes);
            for (var i = 0; i < pending.Length; i++)
            {
                tree.Append(_laneHashes.AsSpan(i * MerkleHash.Size, MerkleHash.Size));
            }

            return;
        }

        foreach (var (start, length) in pending)
        {
            MerkleHash.Leaf(lines.Slice(start, length), _leaf);
            tree.Append(_leaf);
        }
    }
}
