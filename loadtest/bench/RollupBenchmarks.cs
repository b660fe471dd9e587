using AuditGateway.Audit.Entries;
using AuditGateway.Reports;
using BenchmarkDotNet.Attributes;

namespace AuditGateway.Bench;

/// <summary>
/// What a rollup costs per entry: building a block's rollup from request figures (what <c>verify</c>
/// recomputes for every entry, and the gateway's rollup thread does as it writes). One op = one entry.
/// </summary>
[MemoryDiagnoser]
public class RollupBenchmarks
{
    private const int Entries = 65_536;
    private RequestFacts[] _facts = [];

    [GlobalSetup]
    public void Setup()
    {
        var start = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        var routes = new Dictionary<string, string>();
        _facts = [.. Enumerable.Range(0, Entries).Select(i =>
        {
            var entry = SampleEntries.Varied(i, start.AddMilliseconds(i));
            var request = (RequestBody)entry.Body;
            var facts = RequestFacts.Of(i, entry.Timestamp, request, null);
            var id = request.Route!.Id;
            return facts with { RouteId = routes.TryGetValue(id, out var pooled) ? pooled : routes[id] = id };
        })];
    }

    [Benchmark(OperationsPerInvoke = Entries)]
    public int BuildFromFacts()
    {
        var builder = new RollupBuilder("bench", 0);
        foreach (ref readonly var facts in _facts.AsSpan())
        {
            builder.Add(facts);
        }

        return builder.Build().Minutes.Count;
    }
}
