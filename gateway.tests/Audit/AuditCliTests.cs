using System.Text;
using System.Text.Json;
using AuditGateway.Audit.Cli;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Storage;
using AuditGateway.Audit.Writer;
using AuditGateway.Tests.Common;

using static AuditGateway.Tests.Audit.AuditTestKit;

namespace AuditGateway.Tests.Audit;

public sealed class AuditCliTests : IDisposable
{
    private readonly TempDataDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task An_inclusion_proof_checks_out_against_the_signed_checkpoint()
    {
        await WriteLogAsync(_dir.Path, 30);
        var result = await RunAsync("proof", "inclusion", "--data", _dir.Path, "--seq", "17");
        Assert.Equal(0, result.ExitCode);

        using var json = JsonDocument.Parse(result.Output);
        var proof = json.RootElement;
        Assert.Equal(32, proof.GetProperty("treeSize").GetInt64());
        var entry = Encoding.UTF8.GetBytes(proof.GetProperty("entry").GetString()!);
        Assert.StartsWith("{\"seq\":17,", proof.GetProperty("entry").GetString(), StringComparison.Ordinal);
        Assert.Equal(MerkleHash.Leaf(Sha256Implementations.DotNet, entry), Convert.FromHexString(proof.GetProperty("leafHash").GetString()!));

        var checkpoint = CheckpointStore.TryParse(proof.GetProperty("checkpoint").GetString()!, out _)!;
        Assert.Equal(Convert.FromHexString(proof.GetProperty("rootHash").GetString()!), checkpoint.Checkpoint.Root);
        Assert.True(MerkleProofs.VerifyInclusion(
            Sha256Implementations.DotNet, 17, 32, MerkleHash.Leaf(Sha256Implementations.DotNet, entry), [.. proof.GetProperty("proof").EnumerateArray().Select(Fixtures.Hex)], checkpoint.Checkpoint.Root));
    }

    [Fact]
    public async Task A_consistency_proof_links_two_signed_checkpoints()
    {
        await WriteLogAsync(_dir.Path, 10);
        await WriteLogAsync(_dir.Path, 20);
        var result = await RunAsync("proof", "consistency", "--data", _dir.Path, "--from", "12", "--to", "34");
        Assert.Equal(0, result.ExitCode);

        var proof = JsonDocument.Parse(result.Output).RootElement;
        var old = CheckpointStore.TryRead(LogLayout.CheckpointPath(_dir.Path, 12), out _)!.Checkpoint;
        var current = CheckpointStore.TryRead(LogLayout.CheckpointPath(_dir.Path, 34), out _)!.Checkpoint;
        Assert.True(MerkleProofs.VerifyConsistency(
            Sha256Implementations.DotNet, 12, 34, [.. proof.GetProperty("proof").EnumerateArray().Select(Fixtures.Hex)], old.Root, current.Root));
    }

    [Fact]
    public async Task Proof_errors_exit_2_with_one_line()
    {
        await WriteLogAsync(_dir.Path, 3);
        var beyond = await RunAsync("proof", "inclusion", "--data", _dir.Path, "--seq", "9");
        Assert.Equal(2, beyond.ExitCode);
        Assert.Equal("auditgw proof inclusion: seq 9 is not in a tree of size 5\n", beyond.Error);
        var backwards = await RunAsync("proof", "consistency", "--data", _dir.Path, "--from", "4", "--to", "2");
        Assert.Equal(2, backwards.ExitCode);
    }

    [Fact]
    public async Task Tail_prints_one_line_per_entry_and_filters_by_kind()
    {
        await WriteLogAsync(_dir.Path, 8);
        var all = await RunAsync("tail", "--data", _dir.Path);
        Assert.Equal(0, all.ExitCode);
        var lines = all.Output.TrimEnd('\n').Split('\n');
        Assert.Equal(10, lines.Length);
        Assert.Contains("lifecycle start", lines[0], StringComparison.Ordinal);
        Assert.Contains("update Ingress shop/web by=alice source=kubectl", lines[2], StringComparison.Ordinal);

        var security = await RunAsync("tail", "--data", _dir.Path, "--kind", "security");
        Assert.Equal(2, security.Output.TrimEnd('\n').Split('\n').Length);
        Assert.All(security.Output.TrimEnd('\n').Split('\n'), l => Assert.Contains(" security  blocked ", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Tail_spells_values_as_the_log_does()
    {
        await using (var log = await AuditLog.OpenAsync(Options(_dir.Path)))
        {
            var request = SampleEntries.Request(1, DateTimeOffset.UnixEpoch);
            var body = (RequestBody)request.Body;
            await log.AppendDurableAsync(request with { Body = body with { Decision = new RequestDecision(Decision.WouldDeny, "shop/web:allowed-methods", "method PUT is not allowed") } });
        }

        var tail = await RunAsync("tail", "--data", _dir.Path, "--kind", "request");

        Assert.Equal(0, tail.ExitCode);
        Assert.Contains("200 would-deny GET https://api.example.com/api/orders/12345", tail.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tail_follow_prints_entries_written_after_it_started()
    {
        // tail polls on a clock only the test moves: each entry is written while tail waits for its
        // next poll, and the poll happens when the test says so, across two segment rolls.
        var clock = new ManualTimeProvider();
        await using var log = await AuditLog.OpenAsync(Options(_dir.Path, o => o with { SegmentMaxEntries = 3 }));
        using var cts = new CancellationTokenSource();
        var output = new SignalingWriter();
        var root = new System.CommandLine.RootCommand();
        foreach (var command in AuditCommands.Create(clock))
        {
            root.Subcommands.Add(command);
        }

        var tail = root.Parse(["tail", "--data", _dir.Path, "--follow"])
            .InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = output, Error = TextWriter.Null }, cts.Token);
        for (var i = 0; i < 7; i++)
        {
            await Eventually.TrueAsync(() => clock.ActiveTimers == 1, because: "tail to wait for its next poll");
            var receipt = await log.AppendDurableAsync(Entry(i));
            clock.Advance(AuditCommands.FollowPoll);
            await output.WaitForAsync($"{receipt.Seq,8} ");
        }

        await cts.CancelAsync();
        Assert.Equal(0, await tail);
        Assert.Equal(
            Enumerable.Range(0, 8).Select(seq => $"{seq,8} "),
            output.ToString().TrimEnd('\n').Split('\n').Select(line => line[..9]));
    }

    [Fact]
    public async Task Keygen_writes_a_key_pair_the_log_signs_with_and_verify_accepts()
    {
        var keys = Path.Combine(_dir.Path, "auditor-keys");
        var result = await RunAsync("keygen", "--out", keys, "--node", "edge-1");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("verifier key: auditgateway/edge-1+", result.Output, StringComparison.Ordinal);
        Assert.Equal(2, (await RunAsync("keygen", "--out", keys)).ExitCode);

        var data = Path.Combine(_dir.Path, "data");
        await WriteLogAsync(data, 3, o => o with { SigningKeyPath = Path.Combine(keys, "signing.pem"), NodeId = "edge-1" });
        Assert.False(Directory.Exists(Path.Combine(data, "keys")));
        Assert.Equal(2, (await VerifyAsync(data)).ExitCode);
        Assert.Equal(0, (await VerifyAsync(data, "--public-key", Path.Combine(keys, "signing.pub.pem"))).ExitCode);
    }

    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_built_auditgw_verify_exits_0_then_1_with_the_seq()
    {
        await WriteLogAsync(_dir.Path, 12);
        var ok = await AuditgwProcess.RunAsync(CliTimeout, "verify", "--data", _dir.Path);
        Assert.Equal(0, ok.ExitCode);
        Assert.StartsWith("OK entries=14 checkpoints=2 root=", ok.Stdout, StringComparison.Ordinal);

        var lines = ReadLines(_dir.Segment0);
        lines.RemoveAt(6);
        WriteLines(_dir.Segment0, lines);
        var tampered = await AuditgwProcess.RunAsync(CliTimeout, "verify", "--data", _dir.Path);
        Assert.Equal(1, tampered.ExitCode);
        Assert.StartsWith("TAMPERED seq=6 reason=", tampered.Stdout, StringComparison.Ordinal);

        var usage = await AuditgwProcess.RunAsync(CliTimeout, "verify");
        Assert.Equal(2, usage.ExitCode);
    }

    /// <summary>A writer whose text can be awaited for.</summary>
    private sealed class SignalingWriter : StringWriter
    {
        private readonly SemaphoreSlim _written = new(0);

        public override void WriteLine(string? value)
        {
            lock (this)
            {
                base.WriteLine(value);
            }

            _written.Release();
        }

        public override Task WriteLineAsync(string? value)
        {
            WriteLine(value);
            return Task.CompletedTask;
        }

        public async Task WaitForAsync(string text)
        {
            // Only a bound on a hang: the test moves tail's clock itself.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (true)
            {
                lock (this)
                {
                    if (ToString().Contains(text, StringComparison.Ordinal))
                    {
                        return;
                    }
                }

                await _written.WaitAsync(timeout.Token);
            }
        }

        protected override void Dispose(bool disposing)
        {
            _written.Dispose();
            base.Dispose(disposing);
        }
    }
}
