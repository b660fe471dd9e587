using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Notes;
using AuditGateway.Audit.Storage;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Search;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// The log on the admin API over a gateway that served real traffic: search with filters and cursor,
/// the change timeline, the checkpoint and proofs that verify against it; every read of entries is
/// itself a security entry naming the caller, written before the answer.
/// </summary>
public sealed class LogApiTests(SearchGateway fixture) : IClassFixture<SearchGateway>
{
    private TestGateway Gateway => fixture.Gateway;

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Gateway.AdminUri(path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", SearchGateway.AuditorToken);
        using var response = await Gateway.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        var (status, body) = await GetAsync(path);
        Assert.True(status == HttpStatusCode.OK, $"{path}: {(int)status} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static List<long> Seqs(JsonElement page, string items = "entries") =>
        [.. page.GetProperty(items).EnumerateArray().Select(e => e.GetProperty("seq").GetInt64())];

    private static long TreeSize(JsonElement page) => page.GetProperty("verifiedAgainst").GetProperty("treeSize").GetInt64();

    /// <summary>The security entry recording this read, in the log the moment the answer arrived (no waiting).</summary>
    private void AssertReadRecorded(string subject, string what, long before)
    {
        var read = fixture.Entries().Where(e => e.Kind() == "security" && e.Body().Text("reason") == what && e.Body().Text("subject") == subject).ToList();
        var entry = Assert.Single(read);
        Assert.Equal("admin", entry.Body().Text("action"));
        Assert.Equal("admin:alice-auditor", entry.Body().Text("by"));
        Assert.True(entry.Seq() < before, "recorded before the search read the log");
    }

    [Fact]
    public async Task Search_finds_what_a_naive_filter_finds_and_the_read_names_the_caller()
    {
        const string Path = "/api/log?kind=request&status=4xx&limit=10000&client=203.0.113.2&verify";
        var page = await GetJsonAsync(Path);
        Assert.Equal("whole log verified", page.GetProperty("verifiedAgainst").GetProperty("how").GetString());
        var size = TreeSize(page);
        var expected = fixture.Entries().Where(e => e.Seq() < size).Seqs(EntryFilters.All(EntryFilters.Status(s => s / 100 == 4), EntryFilters.Client("203.0.113.2")));
        Assert.NotEmpty(expected);
        Assert.Equal(expected, Seqs(page));
        Assert.Equal(JsonValueKind.Null, page.GetProperty("nextCursor").ValueKind);
        Assert.Matches("^[0-9a-f]{64}$", page.GetProperty("verifiedAgainst").GetProperty("root").GetString());
        foreach (var item in page.GetProperty("entries").EnumerateArray())
        {
            Assert.Equal(item.GetProperty("seq").GetInt64(), item.GetProperty("entry").GetProperty("seq").GetInt64());
        }

        AssertReadRecorded("GET " + Path, "search log", size);
    }

    [Fact]
    public async Task Through_the_index_the_same_entries_come_each_proven_in_the_signed_tree()
    {
        var page = await GetJsonAsync("/api/log?kind=request&status=4xx&limit=10000&client=203.0.113.2");
        var size = TreeSize(page);
        var how = page.GetProperty("verifiedAgainst").GetProperty("how").GetString();
        var expected = fixture.Entries().Where(e => e.Seq() < size).Seqs(EntryFilters.All(EntryFilters.Status(s => s / 100 == 4), EntryFilters.Client("203.0.113.2")));
        Assert.NotEmpty(expected);
        Assert.Equal(expected, Seqs(page));

        // The index answers when every match is inside the newest checkpoint; otherwise the log is read.
        Assert.Contains(how, new[] { "each entry proven included (index)", "whole log verified" });
    }

    [Fact]
    public async Task Paging_with_the_cursor_returns_every_match_once_in_seq_order()
    {
        var seqs = new List<long>();
        string? cursor = null;
        long size;
        do
        {
            var page = await GetJsonAsync("/api/log?route=default/app&limit=2" + (cursor is null ? "" : "&cursor=" + cursor));
            seqs.AddRange(Seqs(page));
            size = TreeSize(page);
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        var expected = fixture.Entries().Where(e => e.Seq() < size).Seqs(EntryFilters.Route("default/app"));
        Assert.True(expected.Count > 4);
        Assert.Equal(expected, seqs);
    }

    [Theory]
    [InlineData("/api/log?status=4x", "400 Bad Request: status '4x': expected ")]
    [InlineData("/api/log?requestId=", "400 Bad Request: requestId '': expected ")]
    [InlineData("/api/log/stream?from=soon", "400 Bad Request: from 'soon': expected ")]
    [InlineData("/api/changes?to=-1x", "400 Bad Request: to '-1x': expected ")]
    public async Task A_bad_parameter_is_400_with_one_line_naming_it(string path, string start)
    {
        var (status, body) = await GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith(start, body, StringComparison.Ordinal);
        Assert.Single(body.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Changes_are_the_config_timeline_filtered_by_object_and_actor()
    {
        var page = await GetJsonAsync("/api/changes?object=default/shop");
        var size = TreeSize(page);
        var entries = fixture.Entries().Where(e => e.Seq() < size).ToList();
        var shop = entries.Seqs(EntryFilters.Object("default", "shop"));
        Assert.True(shop.Count >= 2, "the create and the update of default/shop");
        Assert.Equal(shop, Seqs(page, "changes"));
        var update = page.GetProperty("changes").EnumerateArray().Last();
        Assert.Equal("update", update.GetProperty("operation").GetString());
        Assert.Equal("shop", update.GetProperty("object").GetProperty("name").GetString());
        Assert.NotEqual(update.GetProperty("revisionBefore").GetString(), update.GetProperty("revisionAfter").GetString());
        Assert.Contains("/store", update.GetProperty("diff").GetRawText(), StringComparison.Ordinal);
        Assert.True(update.TryGetProperty("ts", out _) && update.TryGetProperty("actor", out _));
        AssertReadRecorded("GET /api/changes?object=default/shop", "config changes", size);

        var actor = entries.First(e => e.Kind() == "config").Body().Text("actor", "username")!;
        var byActor = await GetJsonAsync("/api/changes?actor=" + Uri.EscapeDataString(actor));
        Assert.Equal(fixture.Entries().Where(e => e.Seq() < TreeSize(byActor)).Seqs(EntryFilters.Actor(actor)), Seqs(byActor, "changes"));
        Assert.NotEmpty(Seqs(byActor, "changes"));
        Assert.Empty(Seqs(await GetJsonAsync("/api/changes?actor=nobody-at-all"), "changes"));
    }

    [Fact]
    public async Task An_inclusion_proof_verifies_against_the_signed_checkpoint()
    {
        var checkpoint = await GetJsonAsync("/api/checkpoint");
        var size = checkpoint.GetProperty("size").GetInt64();
        var root = Convert.FromBase64String(checkpoint.GetProperty("root").GetString()!);
        var note = CheckpointStore.TryParse(checkpoint.GetProperty("note").GetString()!, out _)!;
        Assert.Equal(size, note.Checkpoint.Size);
        Assert.Equal(root, note.Checkpoint.Root);
        using (var key = SigningKeys.Load(Path.Combine(Gateway.DataDirectory, "keys", SigningKeys.PublicKeyFile)))
        using (var verifier = NoteVerifier.FromPublicKey(note.Checkpoint.Origin, key))
        {
            Assert.True(verifier.Verify(note.Note));
        }

        var sha = Sha256Implementations.DotNet;
        var seq = fixture.Entries().First(e => e.Seq() < size && EntryFilters.IsRequest(e)).Seq();
        var proof = await GetJsonAsync($"/api/proof/inclusion?seq={seq}&size={size}");
        var entry = Encoding.UTF8.GetBytes(proof.GetProperty("entry").GetString()!);
        Assert.Equal(AuditLogFiles.ReadLines(Gateway.DataDirectory)[(int)seq], entry);
        var path = proof.GetProperty("proof").EnumerateArray().Select(Fixtures.Hex).ToList();
        Assert.True(MerkleProofs.VerifyInclusion(sha, seq, size, MerkleHash.Leaf(sha, entry), path, root));
        Assert.False(MerkleProofs.VerifyInclusion(sha, seq, size, MerkleHash.Leaf(sha, [.. entry, (byte)' ']), path, root));

        var consistency = await GetJsonAsync($"/api/proof/consistency?from=1&to={size}");
        var first = MerkleHash.Leaf(sha, AuditLogFiles.ReadLines(Gateway.DataDirectory)[0]);
        Assert.True(MerkleProofs.VerifyConsistency(sha, 1, size, [.. consistency.GetProperty("proof").EnumerateArray().Select(Fixtures.Hex)], first, root));

        var beyond = await GetAsync($"/api/proof/inclusion?seq={size}&size={size}");
        Assert.Equal(HttpStatusCode.BadRequest, beyond.Status);
    }
}
