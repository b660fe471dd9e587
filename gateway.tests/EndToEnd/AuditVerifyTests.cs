using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using AuditGateway.Audit;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Notes;
using AuditGateway.Audit.Storage;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// The log a running gateway wrote, checked the way an auditor would: the real <c>auditgw verify</c>
/// and <c>auditgw proof inclusion</c> on its data directory, the proof recomputed independently;
/// and the writer's back-pressure instruments published while requests flow (guarantee 4).
/// </summary>
public sealed class AuditVerifyTests
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task After_traffic_and_config_edits_verify_passes_and_a_request_has_a_valid_inclusion_proof()
    {
        await using var gateway = await AuditConfigTests.StartAsync();
        for (var i = 0; i < 3; i++)
        {
            gateway.WriteManifest("app.yaml", AuditConfigTests.AppIngress($"/v{i + 2}"));
            await gateway.WaitForAsync(t => t.Routes.Any(r => r.Path == $"/v{i + 2}"));
            await Task.WhenAll(Enumerable.Range(0, 20).Select(n => gateway.ServedByAsync($"http://app.test/v{i + 2}/{n}")));
            await gateway.ServedByAsync("http://nowhere.test/");
        }

        await gateway.StopAsync();

        var verify = await AuditgwProcess.RunAsync(CliTimeout, "verify", "--data", gateway.DataDirectory);
        Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);
        var entries = gateway.AuditEntries();
        Assert.StartsWith($"OK entries={entries.Count} ", verify.Stdout, StringComparison.Ordinal);
        Assert.Equal(3, entries.Count(e => e.Kind() == "config" && e.Body().GetProperty("operation").GetString() == "update"));
        Assert.Equal(63, entries.Count(e => e.Kind() == "request"));

        // One request in the middle, proved against the last signed checkpoint.
        var request = entries.Where(e => e.Kind() == "request").ElementAt(30);
        var seq = request.Seq();
        var result = await AuditgwProcess.RunAsync(CliTimeout, "proof", "inclusion", "--data", gateway.DataDirectory, "--seq", seq.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        var proof = JsonDocument.Parse(result.Stdout).RootElement;

        var line = AuditLogFiles.ReadLines(gateway.DataDirectory)[(int)seq];
        Assert.Equal(seq, proof.GetProperty("leafIndex").GetInt64());
        Assert.Equal(Encoding.UTF8.GetString(line), proof.GetProperty("entry").GetString());
        Assert.Equal(Convert.ToHexStringLower(MerkleHash.Leaf(Sha256Implementations.DotNet, line)), proof.GetProperty("leafHash").GetString());
        var size = proof.GetProperty("treeSize").GetInt64();
        Assert.Equal(entries.Count, size);

        var checkpoint = CheckpointStore.TryParse(proof.GetProperty("checkpoint").GetString()!, out var error) ?? throw new InvalidOperationException(error);
        using var publicKey = SigningKeys.Load(SigningKeys.PublicPathFor(Path.Combine(gateway.DataDirectory, "keys", SigningKeys.PrivateKeyFile)));
        Assert.True(NoteVerifier.FromPublicKey(checkpoint.Checkpoint.Origin, publicKey).Verify(checkpoint.Note), "the checkpoint's signature");
        Assert.Equal(size, checkpoint.Checkpoint.Size);
        Assert.Equal(Convert.ToHexStringLower(checkpoint.Checkpoint.Root), proof.GetProperty("rootHash").GetString());
        Assert.True(MerkleProofs.VerifyInclusion(
            Sha256Implementations.DotNet, seq, size, MerkleHash.Leaf(Sha256Implementations.DotNet, line), [.. proof.GetProperty("proof").EnumerateArray().Select(h => Convert.FromHexString(h.GetString()!))], checkpoint.Checkpoint.Root));
    }

    [Fact]
    public async Task The_writer_instruments_including_back_pressure_are_published_while_requests_flow()
    {
        var published = new HashSet<string>(StringComparer.Ordinal);
        long requestEntries = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == LogAvailability.MeterName && instrument.Name.StartsWith("auditgw_audit_", StringComparison.Ordinal))
                {
                    lock (published)
                    {
                        published.Add(instrument.Name);
                    }

                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (instrument.Name == "auditgw_audit_entries_total" && tag is { Key: "kind", Value: "request" })
                {
                    Interlocked.Add(ref requestEntries, value);
                }
            }
        });
        listener.Start();

        await using var gateway = await AuditConfigTests.StartAsync();
        await Task.WhenAll(Enumerable.Range(0, 20).Select(n => gateway.ServedByAsync($"http://app.test/v1/{n}")));
        await Eventually.TrueAsync(() => Interlocked.Read(ref requestEntries) >= 20, TestGateway.Timeout, "request entries counted");

        lock (published)
        {
            Assert.Superset(
                new HashSet<string>(["auditgw_audit_entries_total", "auditgw_audit_backpressure_total", "auditgw_audit_flush_seconds", "auditgw_audit_queue_depth"]),
                published);
        }
    }
}
