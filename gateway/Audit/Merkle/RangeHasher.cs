using AuditGateway.Audit.Hashing;

namespace AuditGateway.Audit.Merkle;

/// <summary>
/// Computes the Merkle tree hashes of a set of leaf ranges (proof elements, roots of prefixes)
/// in one streaming pass over the leaf hashes. Ranges may overlap.
/// </summary>
internal sealed class RangeHasher
{
    private readonly LeafRange[] _ranges;
    private readonly MerkleFrontier[] _frontiers;

    public RangeHasher(IEnumerable<LeafRange> ranges, ISha256 sha)
    {
        _ranges = [.. ranges];
        _frontiers = [.. _ranges.Select(_ => new MerkleFrontier(sha))];
        Start = _ranges.Length == 0 ? 0 : _ranges.Min(r => r.Start);
        End = _ranges.Length == 0 ? 0 : _ranges.Max(r => r.End);
    }

    /// <summary>The first leaf any range needs.</summary>
    public long Start { get; }

    /// <summary>One past the last leaf any range needs.</summary>
    public long End { get; }

    /// <summary>Feeds leaf <paramref name="index"/>; leaves must come in order from <see cref="Start"/>.</summary>
    public void Add(long index, ReadOnlySpan<byte> leafHash)
    {
        for (var i = 0; i < _ranges.Length; i++)
        {
            if (index >= _ranges[i].Start && index < _ranges[i].End)
            {
                _frontiers[i].Append(leafHash);
            }
        }
    }

    /// <summary>
    /// Feeds the first <paramref name="size"/> leaves by the frontier of their tree (a pruned log's
    /// start): each range gets the subtrees that lie inside it. A range that needs leaves inside one of
    /// them (a proof about a pruned entry, or from a tree size inside the pruned part) cannot be computed.
    /// </summary>
    /// <exception cref="InvalidOperationException">A range needs leaves that only the pruned entries hold.</exception>
    public void AddFrontier(long size, IReadOnlyList<byte[]> nodes)
    {
        var node = 0;
        foreach (var (at, height) in MerkleFrontier.Subtrees(size))
        {
            var end = at + (1L << height);
            for (var i = 0; i < _ranges.Length; i++)
            {
                var range = _ranges[i];
                if (range.End <= at || range.Start >= end)
                {
                    continue;
                }

                if (range.Start > at || range.End < end)
                {
                    throw new InvalidOperationException(
                        $"leaves [{Math.Max(range.Start, at)},{Math.Min(range.End, end)}) are needed but were pruned (the log begins at {size})");
                }

                _frontiers[i].Append(nodes[node], height);
            }

            node++;
        }
    }

    /// <summary>The hashes of the ranges, in the order given; throws if a range was not fed completely.</summary>
    public List<byte[]> Hashes()
    {
        var hashes = new List<byte[]>(_ranges.Length);
        for (var i = 0; i < _ranges.Length; i++)
        {
            if (_frontiers[i].Size != _ranges[i].End - _ranges[i].Start)
            {
                throw new InvalidOperationException($"leaves [{_ranges[i].Start},{_ranges[i].End}) were not all supplied");
            }

            hashes.Add(_frontiers[i].Root());
        }

        return hashes;
    }
}
