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
    private readonly byte[] _batch = new byte[1 << 16];
    private readonly (int Start, int Length)[] _unhashed = new (int, int)[Sha256x16.Lanes];
    private readonly byte[] _laneHashes = new byte[Sha256x16.Lanes * 32];
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

    /// <summary>
    /// Encode canonically, hash the chain, copy the line into the batch, hash the leaves (16 at a time
    /// where the CPU has AVX-512, as the writer does; else each on its own), append to the Merkle frontier.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void EncodeChainAppend()
    {
        var lanes = Sha256x16.IsSupported;
        var at = 0;
        var unhashed = 0;
        foreach (var entry in _entries)
        {
            _encoder.Encode(_seq++, entry.Timestamp, "node-1", _prev, entry.Body);
            var line = _encoder.Line;
            MerkleHash.Sha256(line, _prev);
            if (!lanes)
            {
                MerkleHash.Sha256(_encoder.LeafInput, _leaf);
                _tree.Append(_leaf);
            }

            if (at + line.Length + 1 > _batch.Length)
            {
                unhashed = AppendLeaves(unhashed);
                at = 0;
            }

            line.CopyTo(_batch.AsSpan(at));
            if (lanes)
            {
                _unhashed[unhashed++] = (at, line.Length);
                unhashed = unhashed == Sha256x16.Lanes ? AppendLeaves(unhashed) : unhashed;
            }

            at += line.Length + 1;
        }

        AppendLeaves(unhashed);
    }

    private int AppendLeaves(int count)
    {
        if (count > 0)
        {
            Sha256x16.HashPrefixed(0x00, _batch, _unhashed.AsSpan(0, count), _laneHashes);
            for (var i = 0; i < count; i++)
            {
                _tree.Append(_laneHashes.AsSpan(i * 32, 32));
            }
        }

        return 0;
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
