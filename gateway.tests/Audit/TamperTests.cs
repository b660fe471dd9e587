using AuditGateway.Audit.Storage;

using static AuditGateway.Tests.Audit.AuditTestKit;

namespace AuditGateway.Tests.Audit;

/// <summary>Every kind of tampering makes <c>auditgw verify</c> exit 1 and name the first affected seq.</summary>
public sealed class TamperTests : IDisposable
{
    private const int Entries = 40;
    private readonly TempDataDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<List<byte[]>> CleanLogAsync()
    {
        await WriteLogAsync(_dir.Path, Entries);
        var ok = await VerifyAsync(_dir.Path);
        Assert.Equal(0, ok.ExitCode);
        Assert.StartsWith($"OK entries={Entries + 2} ", ok.Output, StringComparison.Ordinal);
        return ReadLines(_dir.Segment0);
    }

    private async Task AssertTamperedAsync(long seq, params string[] extra)
    {
        var result = await VerifyAsync(_dir.Path, extra);
        Assert.True(result.ExitCode == 1, result.Output + result.Error);
        Assert.StartsWith($"TAMPERED seq={seq} reason=", result.Output, StringComparison.Ordinal);
        Assert.Single(result.Output.TrimEnd('\n').Split('\n'));
    }

    private static void Edit(List<byte[]> lines, int seq, string from, string to)
    {
        var text = System.Text.Encoding.UTF8.GetString(lines[seq]);
        Assert.Contains(from, text, StringComparison.Ordinal);
        lines[seq] = Utf8(text.Replace(from, to, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bit_flipped_anywhere_in_an_entry_names_that_entry()
    {
        var clean = await CleanLogAsync();
        const int Seq = 17;
        var line = clean[Seq];
        var positions = Enumerable.Range(0, line.Length).Where(p => p % 9 == 0).ToList();
        foreach (var position in positions)
        {
            foreach (var bit in new[] { 0, 5 })
            {
                var lines = clean.Select(l => l.ToArray()).ToList();
                lines[Seq][position] ^= (byte)(1 << bit);
                WriteLines(_dir.Segment0, lines);
                var result = await VerifyAsync(_dir.Path);
                Assert.True(
                    result.ExitCode == 1 && result.Output.StartsWith($"TAMPERED seq={Seq} ", StringComparison.Ordinal),
                    $"byte {position} bit {bit}: {result.Output}{result.Error}");
            }
        }
    }

    [Fact]
    public async Task A_line_deleted_from_the_middle_is_caught_where_it_was()
    {
        var lines = await CleanLogAsync();
        lines.RemoveAt(11);
        WriteLines(_dir.Segment0, lines);
        await AssertTamperedAsync(11);
    }

    [Fact]
    public async Task Two_swapped_lines_are_caught_at_the_first()
    {
        var lines = await CleanLogAsync();
        (lines[20], lines[21]) = (lines[21], lines[20]);
        WriteLines(_dir.Segment0, lines);
        await AssertTamperedAsync(20);
    }

    [Fact]
    public async Task A_duplicated_line_is_caught_at_the_copy()
    {
        var lines = await CleanLogAsync();
        lines.Insert(9, lines[8]);
        WriteLines(_dir.Segment0, lines);
        await AssertTamperedAsync(9);
    }

    [Fact]
    public async Task An_inserted_forged_line_is_caught_where_it_was_inserted()
    {
        var lines = await CleanLogAsync();
        lines.Insert(30, lines[29]);
        RechainFrom(lines, 30);
        WriteLines(_dir.Segment0, lines);
        await AssertTamperedAsync(30);
    }

    [Fact]
    public async Task A_non_canonical_re_encoding_is_caught()
    {
        var clean = await CleanLogAsync();
        var variants = new (string From, string To)[]
        {
            ("\"seq\":5,", "\"seq\": 5,"),
            ("\"method\":\"POST\"", "\"method\":\"P\\u004fST\""),
            ("\"path\":\"/checkout", "\"path\":\"\\/checkout"),
            ("\"status\":404", "\"status\":404.0"),
        };
        foreach (var (from, to) in variants)
        {
            var lines = clean.Select(l => l.ToArray()).ToList();
            var seq = from.StartsWith("\"seq\"", StringComparison.Ordinal) ? 5 : lines.FindIndex(l => System.Text.Encoding.UTF8.GetString(l).Contains(from, StringComparison.Ordinal));
            lines[seq] = Utf8(System.Text.Encoding.UTF8.GetString(lines[seq]).Replace(from, to, StringComparison.Ordinal));
            WriteLines(_dir.Segment0, lines);
            await AssertTamperedAsync(seq);
        }
    }

    [Fact]
    public async Task Reordered_keys_are_caught_even_with_the_chain_recomputed()
    {
        var lines = await CleanLogAsync();
        Edit(lines, 14, "\"kind\":\"config\",\"node\":\"test-node\"", "\"node\":\"test-node\",\"kind\":\"config\"");
        RechainFrom(lines, 15);
        WriteLines(_dir.Segment0, lines);
        await AssertTamperedAsync(14);
    }

    [Fact]
    public async Task An_edit_with_the_whole_chain_recomputed_is_caught_by_the_signed_checkpoint()
    {
        await WriteLogAsync(_dir.Path, 10);
        await WriteLogAsync(_dir.Path, 10);
        var sizes = LogLayout.Checkpoints(_dir.Path).Select(c => c.FirstSeq).ToList();
        Assert.Equal([1L, 12, 13, 24], sizes);

        var lines = ReadLines(_dir.Segment0);
        Edit(lines, 13, "alice@", "mallory@");
        RechainFrom(lines, 13);
        WriteLines(_dir.Segment0, lines);
        await AssertTamperedAsync(13);

        lines = ReadLines(_dir.Segment0);
        Edit(lines, 18, "\"alice\"", "\"mallory\"");
        RechainFrom(lines, 13);
        WriteLines(_dir.Segment0, lines);
        var result = await VerifyAsync(_dir.Path);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("[13, 24)", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_tail_with_its_checkpoints_removed_is_caught_only_by_a_trusted_checkpoint()
    {
        await WriteLogAsync(_dir.Path, 10);
        var trusted = Path.Combine(_dir.Path, "..", Path.GetFileName(_dir.Path) + "-trusted.note");
        File.Copy(LogLayout.LatestCheckpoint(_dir.Path), trusted);
        try
        {
            var lines = ReadLines(_dir.Segment0);
            WriteLines(_dir.Segment0, lines.Take(7));
            foreach (var checkpoint in LogLayout.Checkpoints(_dir.Path).Where(c => c.FirstSeq > 7))
            {
                File.Delete(checkpoint.Path);
            }

            File.Copy(LogLayout.CheckpointPath(_dir.Path, 1), LogLayout.LatestCheckpoint(_dir.Path), overwrite: true);

            Assert.Equal(0, (await VerifyAsync(_dir.Path)).ExitCode);
            await AssertTamperedAsync(7, "--trusted-checkpoint", trusted);
        }
        finally
        {
            File.Delete(trusted);
        }
    }

    [Fact]
    public async Task A_truncated_tail_is_caught_by_the_local_checkpoint_when_it_is_left()
    {
        var lines = await CleanLogAsync();
        WriteLines(_dir.Segment0, lines.Take(30));
        await AssertTamperedAsync(30);
    }

    [Fact]
    public async Task A_checkpoint_replaced_by_an_older_one_is_caught()
    {
        await WriteLogAsync(_dir.Path, 10);
        await WriteLogAsync(_dir.Path, 10);
        File.Copy(LogLayout.CheckpointPath(_dir.Path, 12), LogLayout.CheckpointPath(_dir.Path, 24), overwrite: true);
        await AssertTamperedAsync(13);

        File.Copy(LogLayout.CheckpointPath(_dir.Path, 12), LogLayout.CheckpointPath(_dir.Path, 24), overwrite: true);
        File.Delete(LogLayout.CheckpointPath(_dir.Path, 24));
        File.Copy(LogLayout.CheckpointPath(_dir.Path, 13), LogLayout.CheckpointPath(_dir.Path, 24));
        File.Copy(LogLayout.CheckpointPath(_dir.Path, 13), LogLayout.LatestCheckpoint(_dir.Path), overwrite: true);
        await AssertTamperedAsync(13);
    }

    [Fact]
    public async Task A_crash_between_writing_latest_and_its_numbered_copy_still_verifies()
    {
        await WriteLogAsync(_dir.Path, 10);
        File.Delete(LogLayout.CheckpointPath(_dir.Path, 12));
        var result = await VerifyAsync(_dir.Path);
        Assert.True(result.ExitCode == 0, result.Output);
    }

    [Fact]
    public async Task A_forged_checkpoint_signature_is_caught()
    {
        await WriteLogAsync(_dir.Path, 10);
        var path = LogLayout.CheckpointPath(_dir.Path, 12);
        var text = File.ReadAllText(path);
        var sig = text.LastIndexOf(' ') + 10;
        File.WriteAllText(path, text[..sig] + (text[sig] == 'A' ? 'B' : 'A') + text[(sig + 1)..]);
        File.Copy(path, LogLayout.LatestCheckpoint(_dir.Path), overwrite: true);
        await AssertTamperedAsync(1);
    }

    [Fact]
    public async Task A_removed_segment_is_caught_at_its_first_seq()
    {
        await WriteLogAsync(_dir.Path, 40, o => o with { SegmentMaxEntries = 10 });
        Assert.Equal(0, (await VerifyAsync(_dir.Path)).ExitCode);
        var segments = LogLayout.Segments(_dir.Path);
        Assert.True(segments.Count >= 4);
        File.Delete(segments[2].Path);
        await AssertTamperedAsync(segments[2].FirstSeq);
    }

    [Fact]
    public async Task Verify_reports_usage_and_io_errors_with_exit_2_and_one_line()
    {
        var missing = await VerifyAsync(Path.Combine(_dir.Path, "nope"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Single(missing.Error.TrimEnd('\n').Split('\n'));
        Assert.DoesNotContain("   at ", missing.Error, StringComparison.Ordinal);

        var noData = await RunAsync("verify");
        Assert.Equal(2, noData.ExitCode);
    }
}
