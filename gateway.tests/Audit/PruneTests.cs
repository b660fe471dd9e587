using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Storage;
using AuditGateway.Audit.Verification;
using AuditGateway.Audit.Writer;
using AuditGateway.Tests.Common;
using static AuditGateway.Tests.Audit.AuditTestKit;

namespace AuditGateway.Tests.Audit;

/// <summary>
/// <c>audit.retain.maxAge</c>: old sealed segments leave the data directory (after the archive has
/// them), recorded by a <c>pruned</c> entry with the frontier at the range's end, and what is kept
/// still verifies, recovers and proves against the same tree as before the prune.
/// </summary>
public sealed class PruneTests : IDisposable
{
    private static readonly TimeSpan Retain = TimeSpan.FromHours(1);
    private readonly TempDataDirectory _dir = new();
    private readonly TempDataDirectory _archive = new();
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero));
    private readonly ISha256 _sha = Sha256Selection.Select(Sha256Choice.Auto).Sha256;

    public void Dispose()
    {
        _dir.Dispose();
        _archive.Dispose();
    }

    [Fact]
    public async Task Segments_older_than_maxAge_are_pruned_once_archived_and_the_rest_verifies_and_proves_against_the_same_roots()
    {
        long size;
        InclusionProof before;
        await using (var log = await OpenAsync(archive: true))
        {
            await AppendAsync(log, 45);
            size = await CheckpointAsync(log);
            before = LogProver.Inclusion(_dir.Path, 42, size, _sha);

            // Younger than the retention: nothing goes, even once archived.
            await ArchivedAsync();
            _clock.Advance(TimeSpan.FromMinutes(30));
            await log.AppendDurableAsync(Entry(45) with { Timestamp = _clock.GetUtcNow() });
            Assert.Equal(0, LogLayout.Segments(_dir.Path)[0].FirstSeq);

            _clock.Advance(TimeSpan.FromMinutes(31));
            await PrunedAsync();
        }

        var segments = LogLayout.Segments(_dir.Path);
        var first = segments[0].FirstSeq;
        var pruned = PrunedEntries();
        var range = Assert.Single(pruned).Pruned!;
        Assert.Equal(0, range.FromSeq);
        Assert.Equal(first - 1, range.ToSeq);
        Assert.True(range.Archived);
        Assert.All(range.Segments, name => Assert.True(File.Exists(Path.Combine(LogLayout.LogDirectory(_archive.Path), name)), $"{name} is not in the archive"));
        Assert.All(range.Segments, name => Assert.False(File.Exists(Path.Combine(LogLayout.LogDirectory(_dir.Path), name)), $"{name} is still here"));
        Assert.Equal(FrontierFromArchive(first).Select(Convert.ToHexStringLower), range.Frontier);
        Assert.DoesNotContain(LogLayout.Checkpoints(_dir.Path), c => c.FirstSeq < first);

        // Verifies on its own (from the frontier) and across the archive (the pruned entry's frontier checked there).
        var alone = await VerifyAsync(_dir.Path);
        Assert.True(alone.ExitCode == 0, alone.Output + alone.Error);
        Assert.Contains($"pruned-before={first}", alone.Output, StringComparison.Ordinal);
        var whole = await VerifyAsync(_dir.Path, "--archive", _archive.Path);
        Assert.True(whole.ExitCode == 0, whole.Output + whole.Error);
        Assert.DoesNotContain("pruned-before", whole.Output, StringComparison.Ordinal);

        // The same proof as before the prune, for the same tree; a pruned entry is refused with a pointer to the archive.
        var after = LogProver.Inclusion(_dir.Path, 42, size, _sha);
        Assert.Equal(before.RootHash, after.RootHash);
        Assert.Equal(before.Proof, after.Proof);
        var refused = await RunAsync("proof", "inclusion", "--data", _dir.Path, "--seq", "3", "--size", size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("pruned", refused.Output + refused.Error, StringComparison.Ordinal);
        var fromArchive = LogProver.Inclusion(_archive.Path, 3, first, _sha);
        Assert.True(MerkleProofs.VerifyInclusion(_sha, 3, first, fromArchive.LeafHash, fromArchive.Proof, MerkleFrontier.Restore(_sha, first, FrontierFromArchive(first)).Root()));

        // The writer recovers from the frontier and the chain goes on.
        await using (var log = await OpenAsync(archive: true))
        {
            await log.AppendDurableAsync(Entry(46) with { Timestamp = _clock.GetUtcNow() });
        }

        Assert.Equal(0, (await VerifyAsync(_dir.Path)).ExitCode);
        Assert.Equal(0, (await VerifyAsync(_dir.Path, "--archive", _archive.Path)).ExitCode);
    }

    [Fact]
    public async Task Without_an_archive_only_sealed_segments_go_never_the_open_one_and_never_by_size()
    {
        await using (var log = await OpenAsync(archive: false))
        {
            await AppendAsync(log, 25);
            await CheckpointAsync(log);
            await Eventually.TrueAsync(() => LogLayout.Segments(_dir.Path).SkipLast(1).All(s => s.Compressed), because: "closed segments to be sealed");

            // All of it old: everything but the open segment goes.
            _clock.Advance(Retain + TimeSpan.FromMinutes(2));
            await Eventually.TrueAsync(
                () =>
                {
                    _clock.Advance(TimeSpan.FromSeconds(30));
                    return LogLayout.Segments(_dir.Path).Count == 1;
                },
                because: "every sealed segment to be pruned");
            Assert.False(LogLayout.Segments(_dir.Path)[0].Compressed);
        }

        Assert.False(Assert.Single(PrunedEntries()).Pruned!.Archived);
        var result = await VerifyAsync(_dir.Path);
        Assert.True(result.ExitCode == 0, result.Output + result.Error);
    }

    [Fact]
    public async Task A_prune_cut_short_leaves_a_log_that_verifies_and_the_next_run_finishes_it()
    {
        await PruneOnceAsync();
        var first = LogLayout.Segments(_dir.Path)[0].FirstSeq;
        var archived = LogLayout.Segments(_archive.Path);

        // Stopped while removing: the last pruned segment is still there. It is passed over, and removed at the next run.
        var leftover = archived.Last(s => s.FirstSeq < first);
        File.Copy(leftover.Path, LogLayout.SealedPath(_dir.Path, leftover.FirstSeq));
        Assert.Equal(0, (await VerifyAsync(_dir.Path)).ExitCode);
        await using (await OpenAsync(archive: true))
        {
            await Eventually.TrueAsync(() => !File.Exists(LogLayout.SealedPath(_dir.Path, leftover.FirstSeq)), because: "the leftover segment to be removed");
        }

        // Stopped after the pruned entry, before the frontier file: every segment is back. The log begins at 0, and
        // the pruned entry's frontier is checked against the tree recomputed there.
        File.Delete(LogLayout.FrontierPath(_dir.Path, first));
        foreach (var segment in archived.Where(s => s.FirstSeq < first))
        {
            File.Copy(segment.Path, LogLayout.SealedPath(_dir.Path, segment.FirstSeq));
        }

        var whole = await VerifyAsync(_dir.Path);
        Assert.True(whole.ExitCode == 0, whole.Output + whole.Error);
        Assert.DoesNotContain("pruned-before", whole.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_log_that_begins_after_seq_0_with_no_frontier_is_refused_naming_what_is_missing()
    {
        await PruneOnceAsync();
        var first = LogLayout.Segments(_dir.Path)[0];
        File.Delete(LogLayout.FrontierPath(_dir.Path, first.FirstSeq));

        var result = await VerifyAsync(_dir.Path);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(first.Name, result.Output + result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Output + result.Error, StringComparison.Ordinal);
        var open = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(archive: true));
        Assert.Contains("entries before it are missing", open.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_changed_frontier_file_fails_verification_at_the_first_checkpoint()
    {
        await PruneOnceAsync();
        var first = LogLayout.Segments(_dir.Path)[0].FirstSeq;
        var path = LogLayout.FrontierPath(_dir.Path, first);
        var lines = File.ReadAllLines(path);
        lines[^1] = new string('0', 64);
        File.WriteAllLines(path, lines);

        var result = await VerifyAsync(_dir.Path);
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("TAMPERED", result.Output, StringComparison.Ordinal);
    }

    private async Task PruneOnceAsync()
    {
        await using var log = await OpenAsync(archive: true);
        await AppendAsync(log, 35);
        await CheckpointAsync(log);
        await ArchivedAsync();
        _clock.Advance(Retain + TimeSpan.FromMinutes(2));
        await PrunedAsync();
    }

    /// <summary>
    /// Waits for the first prune, moving the clock on each look: a timer set in the instant of an
    /// earlier move (from the time before it) would otherwise wait for a move that never comes.
    /// </summary>
    private Task PrunedAsync() => Eventually.TrueAsync(
        () =>
        {
            _clock.Advance(TimeSpan.FromSeconds(30));
            return LogLayout.Segments(_dir.Path)[0].FirstSeq > 0;
        },
        because: "the old segments to be pruned");

    private Task<AuditLog> OpenAsync(bool archive) => AuditLog.OpenAsync(Options(_dir.Path, o => o with
    {
        TimeProvider = _clock,
        SegmentMaxEntries = 10,
        SegmentMaxAge = TimeSpan.FromDays(1),
        CheckpointInterval = TimeSpan.FromSeconds(1),
        ArchiveDirectory = archive ? _archive.Path : null,
        RetainMaxAge = Retain,
    }));

    private async Task AppendAsync(AuditLog log, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await log.AppendDurableAsync(Entry(i) with { Timestamp = _clock.GetUtcNow() });
        }
    }

    /// <summary>Lets a checkpoint fall due and waits for it; returns its size.</summary>
    private async Task<long> CheckpointAsync(AuditLog log)
    {
        var size = log.DurableSize;
        await Eventually.TrueAsync(
            () =>
            {
                _clock.Advance(TimeSpan.FromSeconds(1));
                return log.LatestCheckpoint?.Checkpoint.Size >= size;
            },
            because: "a checkpoint over the entries");
        return log.LatestCheckpoint!.Checkpoint.Size;
    }

    /// <summary>Waits for every closed segment to be sealed and archived, moving the clock so the sealer's retries come round.</summary>
    private Task ArchivedAsync() => Eventually.TrueAsync(
        () =>
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            return LogLayout.Segments(_dir.Path).SkipLast(1).All(s => s.Compressed && File.Exists(LogLayout.SealedPath(_archive.Path, s.FirstSeq)));
        },
        because: "every closed segment to be sealed and archived");

    private List<LifecycleBody> PrunedEntries() =>
        [.. AuditLogFiles.ReadLines(_dir.Path)
            .Select(l => EntryParser.TryParse(l, out _)!.Body)
            .OfType<LifecycleBody>()
            .Where(b => b.Event == LifecycleEvent.Pruned)];

    /// <summary>The frontier of the first <paramref name="size"/> entries, hashed from the archived copies.</summary>
    private List<byte[]> FrontierFromArchive(long size)
    {
        var tree = new MerkleFrontier(_sha);
        var leaf = new byte[MerkleHash.Size];
        using var reader = new LogReader(_archive.Path);
        while (tree.Size < size && reader.Read())
        {
            MerkleHash.Leaf(_sha, reader.Line, leaf);
            tree.Append(leaf);
        }

        Assert.Equal(size, tree.Size);
        return tree.Nodes();
    }
}
