using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Storage;
using AuditGateway.Audit.Verification;
using AuditGateway.Audit.Writer;
using static AuditGateway.Tests.Audit.AuditTestKit;

namespace AuditGateway.Tests.Audit;

/// <summary>
/// <c>tree/</c>: leaves and subtree roots kept beside the log, so proofs need no pass over the log.
/// Proofs from it are the same as from the log, a damaged or missing one is never used, and it is
/// rebuilt from the log at start.
/// </summary>
public sealed class StoredTreeTests : IDisposable
{
    private readonly TempDataDirectory _dir = new();
    private readonly ISha256 _sha = Sha256Selection.Select(Sha256Choice.Auto).Sha256;

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Proofs_from_the_stored_tree_are_the_proofs_from_the_log()
    {
        var sizes = await WriteAsync(rounds: 3, perRound: 700);
        Assert.True(File.Exists(StoredTree.LevelPath(StoredTree.DirectoryOf(_dir.Path), MerkleFrontier.LowLevel)));
        var random = new Random(6962);
        foreach (var size in sizes)
        {
            for (var i = 0; i < 12; i++)
            {
                var seq = random.NextInt64(size);
                var ranges = MerkleProofs.InclusionRanges(seq, size);
                var stored = LogProver.FromStoredTree(_dir.Path, _sha, [.. ranges, new LeafRange(0, size), new LeafRange(seq, seq + 1)], size);
                Assert.NotNull(stored);
                var proof = LogProver.Inclusion(_dir.Path, seq, size, _sha);
                Assert.Equal(proof.Proof, stored[..ranges.Count]);
                Assert.True(MerkleProofs.VerifyInclusion(_sha, seq, size, proof.LeafHash, proof.Proof, proof.RootHash));
                Assert.Equal(seq, EntryOf(proof));
            }
        }

        var scanned = ScanInclusion(sizes[^1] - 5, sizes[^1]);
        var fast = LogProver.Inclusion(_dir.Path, sizes[^1] - 5, sizes[^1], _sha);
        Assert.Equal(scanned.Proof, fast.Proof);
        Assert.Equal(scanned.RootHash, fast.RootHash);
        Assert.Equal(scanned.Entry, fast.Entry);

        var consistency = LogProver.Consistency(_dir.Path, sizes[0], sizes[^1], _sha);
        var consistencyRanges = MerkleProofs.ConsistencyRanges(sizes[0], sizes[^1]);
        Assert.NotNull(LogProver.FromStoredTree(_dir.Path, _sha, [.. consistencyRanges, new LeafRange(0, sizes[0]), new LeafRange(0, sizes[^1])], sizes[0], sizes[^1]));
        Assert.True(MerkleProofs.VerifyConsistency(_sha, sizes[0], sizes[^1], consistency.Proof, consistency.Root1, consistency.Root2));
    }

    [Fact]
    public async Task A_damaged_stored_tree_is_not_used_and_the_next_start_rebuilds_it()
    {
        var sizes = await WriteAsync(rounds: 1, perRound: 1500);
        var size = sizes[^1];
        var expected = ScanInclusion(1300, size);

        // One subtree root changed: the root it gives is not the signed one, so the log is read instead.
        var level = StoredTree.LevelPath(StoredTree.DirectoryOf(_dir.Path), MerkleFrontier.LowLevel);
        var bytes = File.ReadAllBytes(level);
        bytes[8] ^= 0xff;
        File.WriteAllBytes(level, bytes);
        Assert.Null(LogProver.FromStoredTree(_dir.Path, _sha, [new LeafRange(0, size)], size));
        var proof = LogProver.Inclusion(_dir.Path, 1300, size, _sha);
        Assert.Equal(expected.Proof, proof.Proof);

        // Gone altogether: the same; then a start rebuilds it from the log.
        Directory.Delete(StoredTree.DirectoryOf(_dir.Path), recursive: true);
        Assert.Equal(expected.Proof, LogProver.Inclusion(_dir.Path, 1300, size, _sha).Proof);
        await using (await AuditLog.OpenAsync(Options(_dir.Path, o => o with { SegmentMaxEntries = 400 })))
        {
        }

        Assert.NotNull(LogProver.FromStoredTree(_dir.Path, _sha, [new LeafRange(0, size)], size));
        Assert.Equal(expected.Proof, LogProver.Inclusion(_dir.Path, 1300, size, _sha).Proof);
    }

    [Fact]
    public async Task One_entry_is_read_from_its_frame_of_a_sealed_segment_and_from_a_raw_one()
    {
        await WriteLogAsync(_dir.Path, 5000, o => o with { SegmentMaxEntries = 2500 });
        await using (await AuditLog.OpenAsync(Options(_dir.Path, o => o with { SegmentMaxEntries = 2500 })))
        {
            await Common.Eventually.TrueAsync(() => LogLayout.Segments(_dir.Path).SkipLast(1).All(s => s.Compressed), because: "closed segments to be sealed");
        }

        var lines = Common.AuditLogFiles.ReadLines(_dir.Path);
        var segments = LogLayout.Segments(_dir.Path);
        Assert.Contains(segments, s => s.Compressed);
        Assert.Contains(segments, s => !s.Compressed);
        foreach (var segment in segments)
        {
            var next = segments.FirstOrDefault(s => s.FirstSeq > segment.FirstSeq).FirstSeq;
            var count = (next > 0 ? next : lines.Count) - segment.FirstSeq;
            foreach (var index in new long[] { 0, 1, 1023, 1024, 1025, 2047, 2048, count - 1 }.Where(i => i >= 0 && i < count))
            {
                Assert.Equal(lines[(int)(segment.FirstSeq + index)], SegmentLines.Read(segment, index));
            }

            Assert.Null(SegmentLines.Read(segment, count));
        }
    }

    /// <summary>Writes <paramref name="rounds"/> runs of entries in segments of 400; returns the checkpoint sizes.</summary>
    private async Task<List<long>> WriteAsync(int rounds, int perRound)
    {
        for (var round = 0; round < rounds; round++)
        {
            await WriteLogAsync(_dir.Path, perRound, o => o with { SegmentMaxEntries = 400 });
        }

        return [.. LogLayout.Checkpoints(_dir.Path).Select(c => c.FirstSeq).Where(s => s > 1)];
    }

    /// <summary>The proof by a pass over the log: the stored tree moved aside meanwhile.</summary>
    private InclusionProof ScanInclusion(long seq, long size)
    {
        var tree = StoredTree.DirectoryOf(_dir.Path);
        var aside = tree + ".aside";
        var had = Directory.Exists(tree);
        if (had)
        {
            Directory.Move(tree, aside);
        }

        try
        {
            return LogProver.Inclusion(_dir.Path, seq, size, _sha);
        }
        finally
        {
            if (had)
            {
                Directory.Move(aside, tree);
            }
        }
    }

    private static long EntryOf(InclusionProof proof) =>
        System.Text.Json.JsonDocument.Parse(proof.Entry).RootElement.GetProperty("seq").GetInt64();
}
