using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Notes;
using AuditGateway.Audit.Storage;
using AuditGateway.Audit.Verification;
using AuditGateway.Reports;
using BenchmarkDotNet.Attributes;

namespace AuditGateway.Bench;

/// <summary>
/// In-process timings over a large log made by <c>loadtest/large-log-bench.sh</c> (its directory in
/// <c>AUDITGW_LARGE_LOG</c>): what the command line pays without the process start. One op = one call.
/// </summary>
public class LargeLogBenchmarks
{
    private string _data = "";
    private long _size;
    private long _seq;
    private System.Security.Cryptography.ECDsa? _key;
    private ISha256? _sha;

    [GlobalSetup]
    public void Setup()
    {
        _data = Environment.GetEnvironmentVariable("AUDITGW_LARGE_LOG")
            ?? throw new InvalidOperationException("set AUDITGW_LARGE_LOG to a data directory (bash loadtest/large-log-bench.sh makes one)");
        _size = CheckpointStore.TryRead(LogLayout.LatestCheckpoint(_data), out var error)?.Checkpoint.Size
            ?? throw new InvalidOperationException($"{_data}: no checkpoint: {error}");
        _key = SigningKeys.Load(Path.Combine(_data, "keys", SigningKeys.PublicKeyFile));
        _sha = Sha256Selection.Select(Sha256Choice.Auto).Sha256;
    }

    [GlobalCleanup]
    public void Cleanup() => _key!.Dispose();

    /// <summary><c>auditgw proof inclusion</c>'s work: a different entry each call, across the whole log.</summary>
    [Benchmark]
    public int ProofInclusion()
    {
        _seq = (_seq + 7_654_321) % _size;
        return LogProver.Inclusion(_data, _seq, _size, _sha!).Proof.Count;
    }

    /// <summary><c>auditgw report --by route --rollups</c>'s work over the whole log.</summary>
    [Benchmark]
    public int ReportFromRollups() =>
        LogReport.Compute(_data, _key, null, null, ReportKind.Routes, ReportSourceChoice.Rollups, new ReportLimits()).Routes!.Count;
}
