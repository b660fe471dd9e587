using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Writer;
using BenchmarkDotNet.Attributes;

namespace AuditGateway.Bench;

/// <summary>The writer's per-entry CPU work on one core, and the verifier's per-line work, without I/O.</summary>
[MemoryDiagnoser]
public class EntryBenchmarks
{
    private const int Batch = 1000;

    /// <summary>The batch is emptied at this size, so its lines stay in the cache as a writer's do under moderate load.</summary>
    private const int BatchBytes = 60 * 1024;

    // As the log writer has it: the sample entries share one route and one identity object, as the
    // gateway's requests do, and the writer's encoder reuses their JSON.
    private readonly EntryEncoder _encoder = new(cacheSharedParts: true);
    private readonly EntryEncoder _checker = new();
    private readonly byte[] _prev = new byte[32];
    private EntryBatch? _batch;
    private AuditEntry[] _entries = [];
    private byte[] _line = [];
    private long _seq;

    /// <summary>The <c>audit.sha256</c> setting.</summary>
    [Params("auto", "dotnet")]
    public string Sha256 { get; set; } = "auto";

    [GlobalSetup]
    public void Setup()
    {
        _entries = [.. Enumerable.Range(0, Batch).Select(i => SampleEntries.Request(i, DateTimeOffset.UnixEpoch.AddSeconds(i)))];
        _encoder.Encode(0, _entries[0].Timestamp, "node-1", _prev, _entries[0].Body);
        _line = _encoder.Line.ToArray();
        if (!Sha256Choices.TryParse(Sha256, out var choice))
        {
            throw new ArgumentException($"Sha256 '{Sha256}': expected {Sha256Choices.Expected}");
        }

        var sha = Sha256Selection.Select(choice).Sha256;
        _batch = new EntryBatch(sha, "node-1", new byte[32], 0, new LeafHasher(sha, new MerkleFrontier(sha)));
    }

    /// <summary>
    /// The writer's own batch (<see cref="EntryBatch"/>): encode canonically, hash the chain, copy the
    /// line into the batch, hash the leaves (16 at a time where the CPU has AVX-512, else each on its
    /// own), append to the Merkle frontier.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void EncodeChainAppend()
    {
        var batch = _batch!;
        foreach (var entry in _entries)
        {
            batch.Append(entry.Timestamp, entry.Body);
            if (batch.Length >= BatchBytes)
            {
                batch.Seal();
                batch.Clear();
            }
        }

        batch.Seal();
        batch.Clear();
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
