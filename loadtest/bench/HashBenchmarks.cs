using System.Security.Cryptography;
using AuditGateway.Audit.Merkle;
using BenchmarkDotNet.Attributes;

namespace AuditGateway.Bench;

/// <summary>SHA-256 of one ~700-byte line by the ways .NET offers (the writer hashes every line twice).</summary>
public class HashBenchmarks
{
    private readonly byte[] _line = new byte[700];
    private readonly byte[] _hash = new byte[32];
    private readonly IncrementalHash _incremental = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

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

    /// <summary>OpenSSL's SHA256_Init/Update/Final called directly (what MerkleHash uses when it can).</summary>
    [Benchmark]
    public void OpenSslDirect() => OpenSslSha256.Hash(_line, _hash);

    [Benchmark]
    public void NodeOpenSslDirect() => OpenSslSha256.Hash(_node, _hash);

    [Benchmark]
    public int ReusedIncremental()
    {
        _incremental.AppendData(_line);
        return _incremental.GetHashAndReset(_hash);
    }
}
