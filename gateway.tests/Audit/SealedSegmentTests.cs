using System.Text;
using System.Text.Json;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;
using AuditGateway.Audit.Writer;
using AuditGateway.Tests.Common;
using static AuditGateway.Tests.Audit.AuditTestKit;

namespace AuditGateway.Tests.Audit;

/// <summary>
/// Sealed segments: closed by size or age, compressed (<c>.jsonl.zst</c>) and archived in the
/// background; verify, tail and proofs read them as they read the open segment; tampering inside a
/// compressed segment, or with the archive, is still caught at the first affected seq.
/// </summary>
public sealed class SealedSegmentTests : IDisposable
{
    private readonly TempDataDirectory _dir = new();
    private readonly TempDataDirectory _archive = new();

    public void Dispose()
    {
        _dir.Dispose();
        _archive.Dispose();
    }

    [Fact]
    public async Task Closed_segments_are_compressed_and_archived_and_everything_reads_them_as_before()
    {
        await WriteSealedLogAsync(40, archive: true);

        var segments = LogLayout.Segments(_dir.Path);
        Assert.True(segments.Count >= 4, $"{segments.Count} segments");
        Assert.All(segments.SkipLast(1), s => Assert.True(s.Compressed, $"{s.Name} is not compressed"));
        Assert.False(segments[^1].Compressed);
        Assert.Empty(Directory.GetFiles(LogLayout.LogDirectory(_dir.Path), "*.partial"));
        Assert.All(segments.SkipLast(1), s => Assert.True(File.Exists(LogLayout.SealedPath(_archive.Path, s.FirstSeq)), $"{s.Name} not archived"));
        Assert.NotEmpty(LogLayout.Checkpoints(_archive.Path));

        var lines = AuditLogFiles.ReadLines(_dir.Path);
        Assert.Equal(Enumerable.Range(0, lines.Count).Select(i => (long)i), lines.Select(l => EntryParser.TryParse(l, out _)!.Seq));
        Assert.Equal(0, (await VerifyAsync(_dir.Path)).ExitCode);
        var withArchive = await VerifyAsync(_dir.Path, "--archive", _archive.Path);
        Assert.True(withArchive.ExitCode == 0, withArchive.Output + withArchive.Error);

        var tail = await RunAsync("tail", "--data", _dir.Path);
        Assert.Equal(lines.Count, tail.Output.TrimEnd('\n').Split('\n').Length);

        var proof = await RunAsync("proof", "inclusion", "--data", _dir.Path, "--seq", "3");
        Assert.True(proof.ExitCode == 0, proof.Error);
        using var json = JsonDocument.Parse(proof.Output);
        Assert.NotEqual(0, json.RootElement.GetProperty("proof").GetArrayLength());
    }

    [Fact]
    public async Task A_segment_is_sealed_when_its_first_entry_is_segment_age_old_even_while_idle()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero));
        await using (var log = await AuditLog.OpenAsync(Options(_dir.Path, o => o with { TimeProvider = clock, SegmentMaxAge = TimeSpan.FromMinutes(1) })))
        {
            await log.AppendDurableAsync(Entry(0));
            Assert.Single(LogLayout.Segments(_dir.Path));
            clock.Advance(TimeSpan.FromMinutes(1));
            await Eventually.TrueAsync(() => LogLayout.Segments(_dir.Path) is [{ Compressed: true }, { Compressed: false }], because: "the aged segment to be sealed and compressed");
        }

        Assert.Equal(0, (await VerifyAsync(_dir.Path)).ExitCode);
    }

    [Fact]
    public async Task An_edit_inside_a_compressed_segment_is_caught_at_its_seq()
    {
        await WriteSealedLogAsync(40, archive: false);
        var segment = LogLayout.Segments(_dir.Path)[1];
        var lines = Decompress(segment.Path);
        var index = 3;
        var seq = segment.FirstSeq + index;
        lines[index] = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(lines[index]).Replace("\"node\":\"test-node\"", "\"node\":\"test-nodf\"", StringComparison.Ordinal));
        Compress(segment.Path, lines);

        var result = await VerifyAsync(_dir.Path);
        Assert.Equal(1, result.ExitCode);
        // Caught at the edit (the next prev no longer matches), or earlier: at the first seq after the
        // last checkpoint whose root still matches, when a later checkpoint's root is checked first.
        var reported = long.Parse(System.Text.RegularExpressions.Regex.Match(result.Output, "^TAMPERED seq=([0-9]+) ").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(reported, 1, seq + 1);
    }

    [Fact]
    public async Task A_missing_or_swapped_archive_copy_and_a_lost_local_segment_are_caught()
    {
        await WriteSealedLogAsync(40, archive: true);
        var segments = LogLayout.Segments(_dir.Path);

        // Gone locally, kept in the archive: the history across both still verifies.
        File.Delete(segments[1].Path);
        Assert.Equal(1, (await VerifyAsync(_dir.Path)).ExitCode);
        Assert.Equal(0, (await VerifyAsync(_dir.Path, "--archive", _archive.Path)).ExitCode);

        // A sealed local segment the archive lacks.
        File.Delete(LogLayout.SealedPath(_archive.Path, segments[2].FirstSeq));
        var missing = await VerifyAsync(_dir.Path, "--archive", _archive.Path);
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith($"TAMPERED seq={segments[2].FirstSeq} reason=segment {segments[2].Name} is sealed but missing from the archive, which holds later segments", missing.Output, StringComparison.Ordinal);

        // An archived copy that differs from the local one.
        File.Copy(segments[3].Path, LogLayout.SealedPath(_archive.Path, segments[2].FirstSeq));
        var swapped = await VerifyAsync(_dir.Path, "--archive", _archive.Path);
        Assert.Equal(1, swapped.ExitCode);
        Assert.Contains("differs from the local one", swapped.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_compressed_segment_is_reported_not_a_crash()
    {
        await WriteSealedLogAsync(40, archive: false);
        var segment = LogLayout.Segments(_dir.Path)[1];
        var bytes = File.ReadAllBytes(segment.Path);
        File.WriteAllBytes(segment.Path, bytes[..(bytes.Length / 2)]);

        var result = await VerifyAsync(_dir.Path);
        Assert.NotEqual(0, result.ExitCode);
        Assert.DoesNotContain("   at ", result.Output + result.Error, StringComparison.Ordinal);
        Assert.True((result.Output + result.Error).Contains(segment.Name, StringComparison.Ordinal), result.Output + result.Error);
    }

    /// <summary>Writes entries in segments of 10 and waits until every closed one is sealed (and archived) before closing.</summary>
    private async Task WriteSealedLogAsync(int count, bool archive)
    {
        await using var log = await AuditLog.OpenAsync(Options(_dir.Path, o => o with
        {
            SegmentMaxEntries = 10,
            CheckpointInterval = TimeSpan.FromMilliseconds(10),
            ArchiveDirectory = archive ? _archive.Path : null,
        }));
        for (var i = 0; i < count; i++)
        {
            await log.AppendDurableAsync(Entry(i));
        }

        await Eventually.TrueAsync(
            () =>
            {
                var segments = LogLayout.Segments(_dir.Path);
                return segments.SkipLast(1).All(s => s.Compressed && (!archive || File.Exists(LogLayout.SealedPath(_archive.Path, s.FirstSeq))));
            },
            because: "every closed segment to be sealed");
    }

    private static List<byte[]> Decompress(string path)
    {
        using var file = File.OpenRead(path);
        using var stream = new ZstdSharp.DecompressionStream(file);
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        var text = Encoding.UTF8.GetString(memory.ToArray());
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Encoding.UTF8.GetBytes)];
    }

    private static void Compress(string path, List<byte[]> lines)
    {
        using var file = File.Create(path);
        using var zstd = new ZstdSharp.CompressionStream(file, SegmentSealer.Level);
        foreach (var line in lines)
        {
            zstd.Write(line);
            zstd.WriteByte((byte)'\n');
        }
    }
}
