using System.Security.Cryptography;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using BenchmarkDotNet.Attributes;

namespace AuditGateway.Bench;

/// <summary>
/// SHA-256 of one ~700-byte line by the ways .NET offers (the writer hashes every line twice), and
/// the leaf hashes of 16 ~1,000-byte lines in a batch, one at a time or all at once (per leaf).
/// </summary>
public class HashBenchmarks
{
    private const int BatchLines = 16;
    private readonly byte[] _line = new byte[700];
    private readonly byte[] _batch = new byte[BatchLines * 1_100];
    private readonly (int Start, int Length)[] _lines = [.. Enumerable.Range(0, BatchLines).Select(i => (1 + (i * 1_100), 960 + (5 * i)))];
    private readonly byte[] _leaves = new byte[BatchLines * 32];
    private readonly byte[] _hash = new byte[32];
    private readonly IncrementalHash _incremental = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly ISha256 _openSsl = Sha256Implementations.OpenSsl ?? throw new PlatformNotSupportedException("no libcrypto 3");

    private readonly byte[] _node = new byte[65];

    [Benchmark(Baseline = true)]
    public int OneShot() => SHA256.HashData(_line, _hash);

    [Benchmark]
    public int NodeOneShot() => SHA256.HashData(_node, _hash);

    [Benchmark]
    public int NodeReusedIncremental()
    {
        _incremental.AppendData(_node);
        return _incremental.GetHashAndReset(_hash);
    }

    /// <summary>OpenSSL's SHA256_Init/Update/Final called directly (<see cref="OpenSslSha256"/>, through the <see cref="ISha256"/> seam as the log calls it).</summary>
    [Benchmark]
    public void OpenSslDirect() => _openSsl.Hash(_line, _hash);

    [Benchmark]
    public void NodeOpenSslDirect() => _openSsl.Hash(_node, _hash);

    [Benchmark]
    public int ReusedIncremental()
    {
        _incremental.AppendData(_line);
        return _incremental.GetHashAndReset(_hash);
    }

    /// <summary>Each leaf on its own: SHA-256(0x00 || line) through OpenSSL, as the writer did line by line.</summary>
    [Benchmark(OperationsPerInvoke = BatchLines)]
    public void LeavesOneByOne()
    {
        foreach (var (start, length) in _lines)
        {
            MerkleHash.Leaf(_openSsl, _batch.AsSpan(start, length), _leaves);
        }
    }

    /// <summary>The 16 leaves in one multi-lane pass (AVX-512), as the writer hashes a batch now.</summary>
    [Benchmark(OperationsPerInvoke = BatchLines)]
    public void LeavesSixteenLanes() => Sha256x16.HashPrefixed(0x00, _batch, _lines, _leaves);
}
