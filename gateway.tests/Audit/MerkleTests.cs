using System.Text.Json;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Audit;

public sealed class MerkleTests
{
    private static readonly JsonElement s_vectors = Fixtures.Load("merkle/rfc6962-vectors.json").RootElement;

    private static List<byte[]> Leaves() => Fixtures.HexList(s_vectors.GetProperty("leaves_hex"));

    [Fact]
    public void Leaf_hashes_match_the_vectors()
    {
        var expected = Fixtures.HexList(s_vectors.GetProperty("leaf_hashes_hex"));
        Assert.Equal(expected, Leaves().Select(l => MerkleHash.Leaf(Sha256Implementations.DotNet, l)));
    }

    [Fact]
    public void Frontier_root_matches_every_tree_size()
    {
        var frontier = new MerkleFrontier(Sha256Implementations.DotNet);
        var leaves = Leaves();
        foreach (var size in s_vectors.GetProperty("root_hashes_by_tree_size_hex").EnumerateObject())
        {
            var n = int.Parse(size.Name, System.Globalization.CultureInfo.InvariantCulture);
            while (frontier.Size < n)
            {
                frontier.Append(MerkleHash.Leaf(Sha256Implementations.DotNet, leaves[(int)frontier.Size]));
            }

            Assert.Equal(Fixtures.Hex(size.Value), frontier.Root());
        }
    }

    [Fact]
    public void Inclusion_proofs_are_generated_and_verified_as_in_the_vectors()
    {
        var leafHashes = Leaves().Select(l => MerkleHash.Leaf(Sha256Implementations.DotNet, l)).ToList();
        foreach (var vector in s_vectors.GetProperty("inclusion_proofs_classic").EnumerateArray())
        {
            var index = vector.GetProperty("leaf_index").GetInt64();
            var size = vector.GetProperty("tree_size").GetInt64();
            var expected = Fixtures.HexList(vector.GetProperty("proof_hex"));
            var root = Fixtures.Hex(vector.GetProperty("root_hex"));

            Assert.Equal(expected, Prove(MerkleProofs.InclusionRanges(index, size), leafHashes));
            var leafHash = MerkleHash.Leaf(Sha256Implementations.DotNet, Fixtures.Hex(vector.GetProperty("leaf_hex")));
            Assert.True(MerkleProofs.VerifyInclusion(Sha256Implementations.DotNet, index, size, leafHash, expected, root));
        }
    }

    [Fact]
    public void Consistency_proofs_are_generated_and_verified_as_in_the_vectors()
    {
        var leafHashes = Leaves().Select(l => MerkleHash.Leaf(Sha256Implementations.DotNet, l)).ToList();
        foreach (var vector in s_vectors.GetProperty("consistency_proofs_classic").EnumerateArray())
        {
            var size1 = vector.GetProperty("size1").GetInt64();
            var size2 = vector.GetProperty("size2").GetInt64();
            var expected = Fixtures.HexList(vector.GetProperty("proof_hex"));

            Assert.Equal(expected, Prove(MerkleProofs.ConsistencyRanges(size1, size2), leafHashes));
            Assert.True(MerkleProofs.VerifyConsistency(
                Sha256Implementations.DotNet, size1, size2, expected, Fixtures.Hex(vector.GetProperty("root1_hex")), Fixtures.Hex(vector.GetProperty("root2_hex"))));
        }
    }

    [Fact]
    public void Every_inclusion_probe_is_accepted_or_rejected_as_labelled()
    {
        var probes = s_vectors.GetProperty("inclusion_probes").EnumerateArray().ToList();
        Assert.Equal(98, probes.Count);
        foreach (var probe in probes)
        {
            var ok = MerkleProofs.VerifyInclusion(
                Sha256Implementations.DotNet, unchecked((long)probe.GetProperty("leafIdx").GetUInt64()),
                unchecked((long)probe.GetProperty("treeSize").GetUInt64()),
                Fixtures.Hex(probe.GetProperty("leafHash_hex")),
                Fixtures.HexList(probe.GetProperty("proof_hex")),
                Fixtures.Hex(probe.GetProperty("root_hex")));
            Assert.True(ok != probe.GetProperty("wantErr").GetBoolean(), probe.GetProperty("source_path").GetString());
        }
    }

    [Fact]
    public void Every_consistency_probe_is_accepted_or_rejected_as_labelled()
    {
        var probes = s_vectors.GetProperty("consistency_probes").EnumerateArray().ToList();
        Assert.Equal(98, probes.Count);
        foreach (var probe in probes)
        {
            var ok = MerkleProofs.VerifyConsistency(
                Sha256Implementations.DotNet, probe.GetProperty("size1").GetInt64(),
                probe.GetProperty("size2").GetInt64(),
                Fixtures.HexList(probe.GetProperty("proof_hex")),
                Fixtures.Hex(probe.GetProperty("root1_hex")),
                Fixtures.Hex(probe.GetProperty("root2_hex")));
            Assert.True(ok != probe.GetProperty("wantErr").GetBoolean(), probe.GetProperty("source_path").GetString());
        }
    }

    [Fact]
    public void Generated_proofs_verify_for_every_index_and_size_pair_up_to_33()
    {
        var leafHashes = Enumerable.Range(0, 33).Select(i => MerkleHash.Leaf(Sha256Implementations.DotNet, BitConverter.GetBytes(i))).ToList();
        var roots = new List<byte[]> { MerkleHash.EmptyRoot(Sha256Implementations.DotNet) };
        var frontier = new MerkleFrontier(Sha256Implementations.DotNet);
        foreach (var leaf in leafHashes)
        {
            frontier.Append(leaf);
            roots.Add(frontier.Root());
        }

        for (var size = 1; size <= leafHashes.Count; size++)
        {
            for (var i = 0; i < size; i++)
            {
                var proof = Prove(MerkleProofs.InclusionRanges(i, size), leafHashes);
                Assert.True(MerkleProofs.VerifyInclusion(Sha256Implementations.DotNet, i, size, leafHashes[i], proof, roots[size]));
                if (size > 1)
                {
                    Assert.False(MerkleProofs.VerifyInclusion(Sha256Implementations.DotNet, i, size, leafHashes[(i + 1) % size], proof, roots[size]));
                }
            }

            for (var size1 = 1; size1 <= size; size1++)
            {
                var proof = Prove(MerkleProofs.ConsistencyRanges(size1, size), leafHashes);
                Assert.True(MerkleProofs.VerifyConsistency(Sha256Implementations.DotNet, size1, size, proof, roots[size1], roots[size]));
                if (size1 < size)
                {
                    Assert.False(MerkleProofs.VerifyConsistency(Sha256Implementations.DotNet, size1, size, proof, roots[size1 + 1], roots[size]));
                }
            }
        }
    }

    [Fact]
    public void A_tree_restored_from_its_frontier_grows_and_proves_as_the_whole_tree_does()
    {
        var sha = Sha256Implementations.DotNet;
        var leafHashes = Enumerable.Range(0, 70).Select(i => MerkleHash.Leaf(sha, [(byte)i, (byte)(i >> 8)])).ToList();
        for (var start = 1; start < 40; start++)
        {
            var full = new MerkleFrontier(sha);
            foreach (var leaf in leafHashes.Take(start))
            {
                full.Append(leaf);
            }

            var restored = MerkleFrontier.Restore(sha, start, full.Nodes());
            Assert.Equal(full.Root(), restored.Root());
            for (var n = start; n < leafHashes.Count; n++)
            {
                full.Append(leafHashes[n]);
                restored.Append(leafHashes[n]);
            }

            Assert.Equal(full.Root(), restored.Root());

            // Proofs about kept leaves, and consistency from kept sizes, come out the same from the frontier.
            var size = leafHashes.Count;
            var nodes = FrontierOf(leafHashes, start);
            foreach (var ranges in new[] { MerkleProofs.InclusionRanges(start + 3, size), MerkleProofs.ConsistencyRanges(start + 1, size), [new LeafRange(0, size)] })
            {
                var hasher = new RangeHasher(ranges, sha);
                hasher.AddFrontier(start, nodes);
                for (var i = (long)start; i < hasher.End; i++)
                {
                    hasher.Add(i, leafHashes[(int)i]);
                }

                Assert.Equal(Prove(ranges, leafHashes), hasher.Hashes());
            }

            // A proof about a pruned leaf inside a subtree of the frontier needs what the frontier does not hold.
            var pruned = new RangeHasher(MerkleProofs.InclusionRanges(start - 1, size), sha);
            if (start % 2 == 0)
            {
                Assert.Throws<InvalidOperationException>(() => pruned.AddFrontier(start, nodes));
            }
        }
    }

    private static List<byte[]> FrontierOf(List<byte[]> leafHashes, int size)
    {
        var tree = new MerkleFrontier(Sha256Implementations.DotNet);
        foreach (var leaf in leafHashes.Take(size))
        {
            tree.Append(leaf);
        }

        return tree.Nodes();
    }

    private static List<byte[]> Prove(List<LeafRange> ranges, List<byte[]> leafHashes)
    {
        var hasher = new RangeHasher(ranges, Sha256Implementations.DotNet);
        for (var i = hasher.Start; i < hasher.End; i++)
        {
            hasher.Add(i, leafHashes[(int)i]);
        }

        return hasher.Hashes();
    }
}
