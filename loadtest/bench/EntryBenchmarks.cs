using AuditGateway.Audit;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Merkle;
using BenchmarkDotNet.Attributes;

namespace AuditGateway.Bench;

/// <summary>The writer's per-entry CPU work on one core, and the verifier's per-line work, without I/O.</summary>
[MemoryDiagnoser]
public class EntryBenchmarks
{
    private const int Batch = 1000;
    // As the log writer has it: the sample entries share one route and one identity object, as the
    // gateway's requests do, and the writer's encoder reuses their JSON.
    private readonly EntryEncoder _encoder = new(cacheSharedParts: true);
    private readonly EntryEncoder _checker = new();
    private readonly byte[] _prev = new byte[32];
    private readonly byte[] _leaf = new byte[32];
    private MerkleFrontier _tree = new();
    private AuditEntry[] _entries = [];
    private byte[] _line = [];
    private long _seq;

    [GlobalSetup]
    public void Setup()
    {
        _entries = [.. Enumerable.Range(0, Batch).Select(i => SampleEntries.Request(i, DateTimeOffset.UnixEpoch.AddSeconds(i)))];
        _encoder.Encode(0, _entries[0].Timestamp, "node-1", _prev, _entries[0].Body);
        _line = _encoder.Line.ToArray();
        _tree = new MerkleFrontier();
    }

    /// <summary>Encode canonically, hash the chain, hash the leaf, append to the Merkle frontier.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void EncodeChainAppend()
    {
        foreach (var entry in _entries)
        {
            _encoder.Encode(_seq++, entry.Timestamp, "node-1", _prev, entry.Body);
            MerkleHash.Sha256(_encoder.LeafInput, _leaf);
            _tree.Append(_leaf);
            MerkleHash.Sha256(_encoder.Line, _prev);
        }
    }

    /// <summary>Encoding alone.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void Encode()
    {
        foreach (var entry in _entries)
        {
            _encoder.Encode(_seq++, entry.Timestamp, "node-1", _prev, entry.Body);
        }
    }

    /// <summary>Reading a line back into a typed entry (source-generated System.Text.Json).</summary>
    [Benchmark]
    public bool Parse() => EntryParser.TryParse(_line, out _) is not null;

    /// <summary>The verifier's per-line check: parse, re-encode, compare bytes.</summary>
    [Benchmark]
    public bool ParseCanonical() => EntryParser.TryParseCanonical(_line, _checker, out _) is not null;
}
