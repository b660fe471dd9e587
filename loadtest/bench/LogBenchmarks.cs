using AuditGateway.Audit;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Notes;
using AuditGateway.Audit.Verification;
using AuditGateway.Audit.Writer;
using BenchmarkDotNet.Attributes;

namespace AuditGateway.Bench;

/// <summary>The writer with real files and fsyncs, and the verifier over a real log. One op = one entry.</summary>
public class LogBenchmarks
{
    private const int Entries = 50_000;
    private string _writeDir = "";
    private string _verifyDir = "";
    private AuditLog? _log;
    private AuditEntry[] _entries = [];
    private System.Security.Cryptography.ECDsa? _publicKey;

    [GlobalSetup]
    public async Task Setup()
    {
        _entries = [.. Enumerable.Range(0, 4096).Select(i => SampleEntries.Request(i, DateTimeOffset.UnixEpoch.AddSeconds(i)))];
        _writeDir = Directory.CreateTempSubdirectory("auditgw-bench-write-").FullName;
        _verifyDir = Directory.CreateTempSubdirectory("auditgw-bench-verify-").FullName;
        _log = await AuditLog.OpenAsync(new AuditOptions { DataDirectory = _writeDir, NodeId = "bench" });

        await using (var log = await AuditLog.OpenAsync(new AuditOptions { DataDirectory = _verifyDir, NodeId = "bench" }))
        {
            for (var i = 0; i < Entries - 2; i++)
            {
                await log.EnqueueAsync(_entries[i % _entries.Length]);
            }
        }

        _publicKey = SigningKeys.Load(Path.Combine(_verifyDir, "keys", SigningKeys.PublicKeyFile));
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _log!.DisposeAsync();
        _publicKey!.Dispose();
        Directory.Delete(_writeDir, recursive: true);
        Directory.Delete(_verifyDir, recursive: true);
    }

    /// <summary>Entries queued by the request path until all are fsynced (group commit).</summary>
    [Benchmark(OperationsPerInvoke = Entries)]
    public async Task DurableAppend()
    {
        var log = _log!;
        for (var i = 0; i < Entries - 1; i++)
        {
            await log.EnqueueAsync(_entries[i % _entries.Length]);
        }

        await log.AppendDurableAsync(_entries[0]);
    }

    /// <summary><c>auditgw verify</c>'s work over a log of request entries, per entry.</summary>
    [Benchmark(OperationsPerInvoke = Entries)]
    public bool Verify()
    {
        using var verifier = new LogVerifier(_verifyDir, _publicKey, null, Sha256Selection.Select(Sha256Choice.Auto).Sha256);
        return verifier.Verify().Intact;
    }
}
