using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// Appends the leaf hash of each line to the Merkle tree, in order. With an implementation that
/// hashes in lanes, the leaves wait until there are as many as it has lanes and are hashed together
/// (the rest when the batch is written); otherwise each is hashed as it comes.
/// </summary>
internal sealed class LeafHasher(ISha256 sha, MerkleFrontier tree)
{
    private readonly bool _inLanes = sha.Lanes > 1;
    private readonly (int Start, int Length)[] _pending = new (int, int)[sha.Lanes];
    private readonly byte[] _laneHashes = new byte[sha.Lanes * MerkleHash.Size];
    private readonly byte[] _leaf = new byte[MerkleHash.Size];
    private int _pendingCount;

    /// <summary>
    /// The leaf of the line at <paramref name="lines"/>[<paramref name="start"/>, + <paramref name="length"/>);
    /// <paramref name="leafInput"/> is the same line after the leaf prefix 0x00, as the encoder holds it.
    /// </summary>
    public void Add(byte[] lines, int start, int length, ReadOnlySpan<byte> leafInput)
    {
        if (!_inLanes)
        {
            sha.Hash(leafInput, _leaf);
            tree.Append(_leaf);
            return;
        }

        _pending[_pendingCount++] = (start, length);
        if (_pendingCount == _pending.Length)
        {
            AppendPending(lines);
        }
    }

    /// <summary>Appends the leaves still waiting for a full group; <paramref name="lines"/> is the buffer they lie in.</summary>
    public void AppendPending(ReadOnlySpan<byte> lines)
    {
        var pending = _pending.AsSpan(0, _pendingCount);
        _pendingCount = 0;
        sha.HashPrefixed(0x00, lines, pending, _laneHashes);
        for (var i = 0; i < pending.Length; i++)
        {
            tree.Append(_laneHashes.AsSpan(i * MerkleHash.Size, MerkleHash.Size));
        }
    }
}
