using AuditGateway.Search;
using AuditGateway.Tests.Audit;

using static AuditGateway.Tests.Audit.AuditTestKit;

namespace AuditGateway.Tests.Search;

/// <summary>
/// A search verifies the log as it reads: a tampered log makes it exit 1 naming the first bad seq,
/// whichever page is asked for. Through the index (by request id, identity, client or route) it reads
/// only its results, each proven in the signed tree: an edited result is still named.
/// </summary>
public sealed class SearchTamperTests : IDisposable
{
    private const int Entries = 40;
    private readonly TempDataDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Task<CliResult> SearchAsync(params string[] args) => SearchCli.RunAsync(["--data", _dir.Path, "--format", "json", .. args]);

    private async Task EditAsync(int seq, string from, string to, bool rechain = false)
    {
        await WriteLogAsync(_dir.Path, Entries);
        var lines = ReadLines(_dir.Segment0);
        var text = System.Text.Encoding.UTF8.GetString(lines[seq]);
        Assert.Contains(from, text, StringComparison.Ordinal);
        lines[seq] = Utf8(text.Replace(from, to, StringComparison.Ordinal));
        if (rechain)
        {
            RechainFrom(lines, seq);
        }

        WriteLines(_dir.Segment0, lines);
    }

    private static void AssertTampered(CliResult result, long seq)
    {
        Assert.True(result.ExitCode == 1, result.Output + result.Error);
        Assert.StartsWith($"TAMPERED seq={seq} reason=", result.Lines().Last(), StringComparison.Ordinal);
        Assert.Null(result.NextCursor());
    }

    [Fact]
    public async Task An_intact_log_exits_0_with_every_entry()
    {
        await WriteLogAsync(_dir.Path, Entries);
        var result = await SearchAsync("--limit", "1000");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(Enumerable.Range(0, Entries + 2).Select(i => (long)i), result.Seqs());
    }

    [Fact]
    public async Task An_edited_line_exits_1_naming_it_after_the_results_before_it()
    {
        await EditAsync(14, "\"alice\"", "\"mallory\"");
        var result = await SearchAsync("--limit", "1000");
        AssertTampered(result, 14);
        Assert.Equal(Enumerable.Range(0, 14).Select(i => (long)i), result.Seqs());
    }

    [Fact]
    public async Task A_page_after_the_edit_still_finds_the_tampered_prefix()
    {
        await EditAsync(14, "\"alice\"", "\"mallory\"");
        var result = await SearchAsync("--cursor", SearchCursor.Encode(30));
        AssertTampered(result, 14);
        Assert.Empty(result.Seqs());
    }

    [Fact]
    public async Task A_filter_that_matches_nothing_still_verifies_with_verify()
    {
        await EditAsync(14, "\"alice\"", "\"mallory\"");
        AssertTampered(await SearchAsync("--request-id", "no-such-request", "--verify"), 14);
    }

    [Fact]
    public async Task Through_the_index_each_result_is_proven_and_the_rest_of_the_log_is_not_read()
    {
        await EditAsync(14, "\"alice\"", "\"mallory\"");
        var request = ReadLines(_dir.Segment0)
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)
            .First(e => e.GetProperty("kind").GetString() == "request" && e.GetProperty("seq").GetInt64() > 14);
        var seq = request.GetProperty("seq").GetInt64();
        var requestId = request.GetProperty("request").GetProperty("id").GetString()!;

        // An intact entry found by its request id: proven in the signed tree; the edit at 14 is not on its way.
        var found = await SearchAsync("--request-id", requestId);
        Assert.True(found.ExitCode == 0, found.Output + found.Error);
        Assert.Equal([seq], found.Seqs());
        Assert.Contains("\"provenIn\":{\"treeSize\":", found.Lines().Last(), StringComparison.Ordinal);

        // The edited entry as a result: its proof fails, the log is read, and the edit is named.
        AssertTampered(await SearchAsync("--identity", "mallory"), 14);
    }

    [Fact]
    public async Task An_edit_with_the_chain_recomputed_is_caught_by_the_signed_checkpoint()
    {
        await EditAsync(14, "\"alice\"", "\"mallory\"", rechain: true);
        var result = await SearchAsync("--identity", "mallory");
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("TAMPERED seq=", result.Lines().Last(), StringComparison.Ordinal);
        Assert.Contains("checkpoint", result.Lines().Last(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_torn_last_line_is_tolerated()
    {
        await WriteLogAsync(_dir.Path, Entries);
        await File.AppendAllTextAsync(_dir.Segment0, "{\"seq\":42,\"ts\":\"2025-03");
        var result = await SearchAsync("--limit", "1000");
        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.Equal(Entries + 2, result.Seqs().Count);
    }
}
