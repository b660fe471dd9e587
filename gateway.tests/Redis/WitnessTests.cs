using System.Security.Cryptography;
using AuditGateway.Audit.Cli;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Notes;
using AuditGateway.Audit.Storage;
using AuditGateway.Redis;
using AuditGateway.Reports;
using AuditGateway.Tests.Audit;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.EndToEnd;
using StackExchange.Redis;

using static AuditGateway.Tests.Audit.AuditTestKit;

namespace AuditGateway.Tests.Redis;

/// <summary>
/// The checkpoint witness (PRODUCT.md §10) on a real <c>redis-server</c>: a gateway with <c>redis.connection</c>
/// publishes every checkpoint it signs, also those signed while Redis was down; <c>auditgw verify --redis</c>
/// then catches what the local files cannot: a log cut back together with its checkpoints, a rewrite
/// with re-signed checkpoints, a fork, and says so for a witnessed note it cannot trust.
/// </summary>
[Collection(ReplicaTimingTests.Name)]
public sealed class WitnessTests : IAsyncLifetime, IDisposable
{
    private readonly TempDataDirectory _dir = new();
    private RedisServer? _redis;

    private RedisServer Redis => _redis ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_running_gateway_keeps_its_latest_checkpoint_in_Redis_exactly_as_stored()
    {
        await using var gateway = await StartGatewayAsync();
        await SendAsync(gateway, 20);
        var latest = await WaitUntilWitnessedAsync(gateway);

        var database = await Redis.DatabaseAsync();
        var top = Assert.Single(await database.SortedSetRangeByRankWithScoresAsync(KeyOf(gateway), -1, -1));
        Assert.Equal(latest, (string)top.Element!);
        Assert.Equal(SizeOf(latest), (long)top.Score);
        Assert.True(await database.SortedSetLengthAsync(KeyOf(gateway)) >= 2, "the start-up checkpoint and those of the traffic");
    }

    [Fact]
    public async Task Readyz_says_whether_the_witness_agrees_and_a_larger_checkpoint_under_this_node_is_a_disagreement()
    {
        await using var gateway = await StartGatewayAsync();
        await SendAsync(gateway, 5);
        var latest = await WaitUntilWitnessedAsync(gateway);
        await Eventually.TrueAsync(() => gateway.App.Services.GetRequiredService<CheckpointWitness>().Agreement?.Size == SizeOf(latest), TestGateway.Timeout, "the agreement is read back");
        var witness = (await gateway.GetAdminJsonAsync("/readyz"))["redis"]!["witness"]!;
        Assert.True((bool)witness["agrees"]!);
        Assert.Equal(SizeOf(latest), (long)witness["size"]!);

        // Another note under this node's name, larger than its log: the next publish reads it back and says so.
        var forged = new Checkpoint(CheckpointStore.TryParse(latest, out _)!.Checkpoint.Origin, SizeOf(latest) + 1000, RandomNumberGenerator.GetBytes(32));
        await (await Redis.DatabaseAsync()).SortedSetAddAsync(KeyOf(gateway), SignWithDataKey(gateway.DataDirectory, forged), forged.Size);
        await SendAsync(gateway, 5);
        await Eventually.TrueAsync(() => gateway.App.Services.GetRequiredService<CheckpointWitness>().Agreement is { Agrees: false }, TestGateway.Timeout, "the disagreement is seen");
        var ready = await gateway.GetAdminJsonAsync("/readyz");
        Assert.False((bool)ready["redis"]!["witness"]!["agrees"]!);
        Assert.Contains(ready["warnings"]!.AsArray(), w => ((string?)w)!.Contains($"the checkpoint witness disagrees: Redis holds a checkpoint of size {forged.Size}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Checkpoints_signed_while_Redis_is_down_are_published_when_it_answers_again()
    {
        await using var gateway = await StartGatewayAsync();
        await SendAsync(gateway, 5);
        var before = SizeOf(await WaitUntilWitnessedAsync(gateway));

        await Redis.StopAsync();
        await gateway.WaitForAuditAsync(e => e.Kind() == "lifecycle" && e.Body().GetProperty("event").GetString() == "redis-down", "the outage is noticed");
        for (var i = 0; i < 3; i++)
        {
            await SendAsync(gateway, 5);
            var size = gateway.AuditEntries().Count;
            await Eventually.TrueAsync(() => LocalSizes(gateway.DataDirectory).Max() >= size, TestGateway.Timeout, "a checkpoint covers the requests");
        }

        var missed = LocalSizes(gateway.DataDirectory).Where(s => s > before).ToList();
        Assert.True(missed.Count >= 3, string.Join(',', missed));

        // Started again empty: what it holds afterwards was published after the outage.
        await Redis.StartAgainAsync();
        var database = await Redis.DatabaseAsync();
        await Eventually.TrueAsync(
            () => Answers(() => missed.All(s => database.SortedSetRangeByScore(KeyOf(gateway), s, s).Any(m => (string)m! == File.ReadAllText(LogLayout.CheckpointPath(gateway.DataDirectory, s))))),
            TestGateway.Timeout,
            "every checkpoint signed during the outage is witnessed");
    }

    [Fact]
    public async Task Verify_with_redis_passes_an_intact_log_and_counts_the_witnessed_checkpoints()
    {
        var data = await RunGatewayAsync();
        var witnessed = await (await Redis.DatabaseAsync()).SortedSetLengthAsync(KeyOfLog(data));

        var result = await VerifyWithRollupsAsync(data, "--redis", Redis.Url);
        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.StartsWith("OK entries=", result.Output, StringComparison.Ordinal);
        Assert.Contains($" witnessed={witnessed} (all agree, newest size ", result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_log_cut_back_with_its_checkpoints_is_caught_by_verify_with_redis_as_a_truncation(bool rollupsAhead)
    {
        var data = await RunGatewayAsync();
        var database = await Redis.DatabaseAsync();
        var witnessed = (await database.SortedSetRangeByRankWithScoresAsync(KeyOfLog(data))).Select(m => (long)m.Score).ToList();
        Assert.True(witnessed.Count >= 3, string.Join(',', witnessed));
        var cut = witnessed[^2];
        var newest = witnessed[^1];
        if (rollupsAhead)
        {
            // As the gateway leaves them after 10 s: the block being filled rolled up as far as it goes.
            Assert.Equal(1, RollupMaintainer.Rebuild(data, AuditLogFiles.ReadEntries(data)[0].GetProperty("node").GetString()!, durable: null));
        }

        // The attacker: the log cut back to a checkpoint, the checkpoints after it removed, latest put back;
        // the stored tree is left ahead of the cut.
        var segment = Assert.Single(LogLayout.Segments(data));
        WriteLines(segment.Path, ReadLines(segment.Path).Take((int)cut));
        foreach (var checkpoint in LogLayout.Checkpoints(data).Where(c => c.FirstSeq > cut))
        {
            File.Delete(checkpoint.Path);
        }

        File.Copy(LogLayout.CheckpointPath(data, cut), LogLayout.LatestCheckpoint(data), overwrite: true);
        Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(data, "tree")));

        // Plain verify passes, unless a rollup names entries past the cut.
        var plain = await VerifyWithRollupsAsync(data);
        const string RollupLine = "TAMPERED seq=0 reason=rollup/";
        if (rollupsAhead)
        {
            Assert.True(plain.ExitCode == 1, plain.Output + plain.Error);
            Assert.StartsWith(RollupLine, plain.Output, StringComparison.Ordinal);
            Assert.Contains("past the end of the log", plain.Output, StringComparison.Ordinal);
        }
        else
        {
            Assert.True(plain.ExitCode == 0, plain.Output + plain.Error);
            Assert.StartsWith($"OK entries={cut} ", plain.Output, StringComparison.Ordinal);
        }

        var result = await VerifyWithRollupsAsync(data, "--redis", Redis.Url);
        Assert.True(result.ExitCode == 1, result.Output + result.Error);
        var lines = result.Output.TrimEnd('\n').Split('\n');
        Assert.Equal(rollupsAhead ? 2 : 1, lines.Length);
        if (rollupsAhead)
        {
            Assert.Equal(plain.Output.TrimEnd('\n'), lines[0]);
        }

        Assert.StartsWith($"TAMPERED seq={cut} reason=truncated: the log has {cut} entries but Redis witnessed a checkpoint of size {newest} signed by ", lines[^1], StringComparison.Ordinal);
        Assert.Contains($"entries {cut}..{newest - 1} are missing", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_signed_checkpoint_of_a_witnessed_size_is_reported_as_a_fork()
    {
        var data = await RunGatewayAsync();
        var database = await Redis.DatabaseAsync();
        var key = KeyOfLog(data);
        var size = (long)(await database.SortedSetRangeByRankWithScoresAsync(key, -2, -2))[0].Score;
        var real = CheckpointStore.TryParse((string)(await database.SortedSetRangeByScoreAsync(key, size, size))[0]!, out _)!.Checkpoint;
        var forged = new Checkpoint(real.Origin, size, RandomNumberGenerator.GetBytes(32));
        await database.SortedSetAddAsync(key, SignWithDataKey(data, forged), size);

        var result = await VerifyWithRollupsAsync(data, "--redis", Redis.Url);
        Assert.True(result.ExitCode == 1, result.Output + result.Error);
        var line = Assert.Single(result.Output.TrimEnd('\n').Split('\n'));
        Assert.Contains($"reason=fork: {real.Origin[Checkpoint.OriginPrefix.Length..]} signed two checkpoints of size {size} with different roots", line, StringComparison.Ordinal);
        Assert.Contains(Convert.ToHexStringLower(real.Root), line, StringComparison.Ordinal);
        Assert.Contains(Convert.ToHexStringLower(forged.Root), line, StringComparison.Ordinal);
        Assert.EndsWith($"; the log has {Convert.ToHexStringLower(real.Root)}", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_witnessed_checkpoint_with_a_bad_signature_is_reported_and_not_trusted()
    {
        var data = await RunGatewayAsync();
        var database = await Redis.DatabaseAsync();
        var key = KeyOfLog(data);
        var newest = CheckpointStore.TryParse((string)(await database.SortedSetRangeByRankAsync(key, -1, -1))[0]!, out _)!.Checkpoint;
        using var otherKey = SigningKeys.Generate();
        using var other = new NoteSigner(newest.Origin, otherKey);
        var beyond = new Checkpoint(newest.Origin, newest.Size + 1000, RandomNumberGenerator.GetBytes(32));
        await database.SortedSetAddAsync(key, other.Sign(beyond.ToText()).ToString(), beyond.Size);

        var result = await VerifyWithRollupsAsync(data, "--redis", Redis.Url);
        Assert.True(result.ExitCode == 1, result.Output + result.Error);
        var line = Assert.Single(result.Output.TrimEnd('\n').Split('\n'));
        Assert.Equal($"TAMPERED witness reason=the checkpoint of size {beyond.Size} in {key} does not carry a valid signature by the public key: not trusted", line);
    }

    [Fact]
    public async Task A_rewrite_with_re_signed_checkpoints_passes_plain_verify_but_the_witness_names_the_interval()
    {
        await WriteLogAsync(_dir.Path, 10);
        await WriteLogAsync(_dir.Path, 10);
        await WitnessLocalCheckpointsAsync();

        var lines = ReadLines(_dir.Segment0);
        var text = System.Text.Encoding.UTF8.GetString(lines[18]);
        Assert.Contains("\"alice\"", text, StringComparison.Ordinal);
        lines[18] = Utf8(text.Replace("\"alice\"", "\"mallory\"", StringComparison.Ordinal));
        RechainFrom(lines, 13);
        WriteLines(_dir.Segment0, lines);

        // Not re-signed: the local checkpoint catches it, and the witness (from a pass over the log) too.
        var both = await VerifyWitnessedAsync(_dir.Path, "--redis", Redis.Url);
        Assert.True(both.ExitCode == 1, both.Output + both.Error);
        Assert.StartsWith("TAMPERED seq=13 reason=checkpoint ", both.Output, StringComparison.Ordinal);
        Assert.Contains("TAMPERED seq=13 reason=rewritten: Redis witnessed the checkpoint of size 24 signed by test-node", both.Output, StringComparison.Ordinal);

        // Re-signed with the key in the data directory: only the witness still knows.
        var root = RootOf(lines);
        using (var key = SigningKeys.Load(Path.Combine(_dir.Path, "keys", SigningKeys.PrivateKeyFile)))
        using (var signer = new NoteSigner(Checkpoint.OriginOf("test-node"), key))
        {
            var checkpoint = new Checkpoint(Checkpoint.OriginOf("test-node"), lines.Count, root);
            CheckpointStore.Write(_dir.Path, new SignedCheckpoint(checkpoint, signer.Sign(checkpoint.ToText())));
        }

        Assert.Equal(0, (await VerifyAsync(_dir.Path)).ExitCode);
        var result = await VerifyWitnessedAsync(_dir.Path, "--redis", Redis.Url);
        Assert.True(result.ExitCode == 1, result.Output + result.Error);
        var line = Assert.Single(result.Output.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("TAMPERED seq=13 reason=rewritten: Redis witnessed the checkpoint of size 24 signed by test-node with root ", line, StringComparison.Ordinal);
        Assert.EndsWith($"but the log's root at that size is {Convert.ToHexStringLower(root)}: entries in [13, 24) were changed after it was published", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_witnessed_checkpoint_the_log_contradicts_below_one_it_agrees_with_is_a_fork()
    {
        await WriteLogAsync(_dir.Path, 10);
        await WriteLogAsync(_dir.Path, 10);
        await WitnessLocalCheckpointsAsync();
        var forged = new Checkpoint(Checkpoint.OriginOf("test-node"), 5, RandomNumberGenerator.GetBytes(32));
        await (await Redis.DatabaseAsync()).SortedSetAddAsync(CheckpointWitness.KeyOf("test-node"), SignWithDataKey(_dir.Path, forged), 5);

        var result = await VerifyWitnessedAsync(_dir.Path, "--redis", Redis.Url);
        Assert.True(result.ExitCode == 1, result.Output + result.Error);
        var line = Assert.Single(result.Output.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("TAMPERED seq=1 reason=fork: the checkpoints of size 5 and 12 witnessed in auditgw:witness:test-node are both signed by test-node but are not consistent", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_with_redis_exits_2_with_one_line_when_Redis_does_not_answer()
    {
        await WriteLogAsync(_dir.Path, 3);
        await Redis.StopAsync();

        var result = await VerifyWitnessedAsync(_dir.Path, "--redis", Redis.Url);
        Assert.True(result.ExitCode == 2, result.Output + result.Error);
        Assert.Equal("", result.Output);
        var line = Assert.Single(result.Error.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"auditgw verify: --redis {Redis.Url}: Redis does not answer (", line, StringComparison.Ordinal);
    }

    /// <summary>A gateway on the data directory with a 100 ms checkpoint interval and the test's Redis.</summary>
    private async Task<TestGateway> StartGatewayAsync() =>
        await TestGateway.StartAsync(["one"], g =>
        {
            g.DataDirectory = _dir.Path;
            g.ConfigYaml = $"audit:\n  checkpointInterval: 100ms\nredis:\n  connection: {Redis.Url}\n";
            g.WriteManifest("services.yaml", g.ServiceFor("one"));
            g.WriteManifest("app.yaml", AuditConfigTests.AppIngress("/v1"));
        });

    /// <summary>Runs a gateway through some traffic until Redis holds its latest checkpoint, stops it cleanly; returns its data directory.</summary>
    private async Task<string> RunGatewayAsync()
    {
        await using var gateway = await StartGatewayAsync();
        await SendAsync(gateway, 20);
        await WaitUntilWitnessedAsync(gateway);
        await SendAsync(gateway, 20);
        await WaitUntilWitnessedAsync(gateway);
        return gateway.DataDirectory;
    }

    /// <summary>Sends requests and waits until their entries are in the log.</summary>
    private static async Task SendAsync(TestGateway gateway, int requests)
    {
        var logged = RequestEntries(gateway) + requests;
        await Task.WhenAll(Enumerable.Range(0, requests).Select(n => gateway.ServedByAsync($"http://app.test/v1/{n}")));
        await Eventually.TrueAsync(() => RequestEntries(gateway) == logged, TestGateway.Timeout, "the requests are logged");
    }

    private static int RequestEntries(TestGateway gateway) => gateway.AuditEntries().Count(e => e.Kind() == "request");

    /// <summary>Waits until Redis's newest witnessed checkpoint is <c>checkpoints/latest</c> (and it covers every entry); returns the note.</summary>
    private async Task<string> WaitUntilWitnessedAsync(TestGateway gateway)
    {
        var database = await Redis.DatabaseAsync();
        var key = KeyOf(gateway);
        var latest = "";
        await Eventually.TrueAsync(
            () =>
            {
                latest = File.ReadAllText(LogLayout.LatestCheckpoint(gateway.DataDirectory));
                return SizeOf(latest) == gateway.AuditEntries().Count
                    && database.SortedSetRangeByRank(key, -1, -1) is [var top] && (string)top! == latest;
            },
            TestGateway.Timeout,
            "Redis holds the latest local checkpoint");
        return latest;
    }

    /// <summary>What the witness does, for a log written without a gateway: every local checkpoint into the node's sorted set.</summary>
    private async Task WitnessLocalCheckpointsAsync()
    {
        var database = await Redis.DatabaseAsync();
        foreach (var file in LogLayout.Checkpoints(_dir.Path))
        {
            await database.SortedSetAddAsync(CheckpointWitness.KeyOf("test-node"), File.ReadAllText(file.Path), file.FirstSeq);
        }
    }

    /// <summary>The CLI as shipped: <c>verify</c> checks the rollups too, and takes <c>--redis</c>.</summary>
    private static Task<CliResult> VerifyWithRollupsAsync(string data, params string[] extra) =>
        RunAsync(AuditCommands.Create(TimeProvider.System, null, WitnessCheck.FetchAsync, RollupCheck.Create), ["verify", "--data", data, .. extra]);

    /// <summary><c>verify</c> with <c>--redis</c>, for a log written without a gateway (no rollups).</summary>
    private static Task<CliResult> VerifyWitnessedAsync(string data, params string[] extra) =>
        RunAsync(AuditCommands.Create(TimeProvider.System, null, WitnessCheck.FetchAsync), ["verify", "--data", data, .. extra]);

    private static string SignWithDataKey(string data, Checkpoint checkpoint)
    {
        using var key = SigningKeys.Load(Path.Combine(data, "keys", SigningKeys.PrivateKeyFile));
        using var signer = new NoteSigner(checkpoint.Origin, key);
        return signer.Sign(checkpoint.ToText()).ToString();
    }

    private static byte[] RootOf(List<byte[]> lines)
    {
        var tree = new MerkleFrontier(Sha256Implementations.DotNet);
        foreach (var line in lines)
        {
            tree.Append(MerkleHash.Leaf(Sha256Implementations.DotNet, line));
        }

        return tree.Root();
    }

    /// <summary>The condition, false while the test's own client is still reconnecting.</summary>
    private static bool Answers(Func<bool> condition)
    {
        try
        {
            return condition();
        }
        catch (RedisConnectionException)
        {
            return false;
        }
    }

    private static List<long> LocalSizes(string data) => [.. LogLayout.Checkpoints(data).Select(c => c.FirstSeq)];

    private static long SizeOf(string note) => CheckpointStore.TryParse(note, out _)?.Checkpoint.Size ?? -1;

    private static RedisKey KeyOf(TestGateway gateway) => KeyOfLog(gateway.DataDirectory);

    /// <summary>The witness key of the node that wrote the log (its first entry's <c>node</c>).</summary>
    private static RedisKey KeyOfLog(string data) =>
        CheckpointWitness.KeyOf(AuditLogFiles.ReadEntries(data)[0].GetProperty("node").GetString()!);
}
