using System.Text.Json;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Verification;

namespace AuditGateway.Reports;

/// <summary>
/// <c>verify</c>'s check of <c>rollup/</c>: every block that has a rollup is rolled up again from its
/// verified entries and must come out identical. A rollup of another version is stale (the gateway
/// rebuilds it) and counted, not failed; one that differs, or cannot be read, fails the check. The
/// verifier's walk only collects each block's entries; the blocks are rolled up and compared on the
/// thread pool, a few at a time, so that the check neither holds up the walk nor runs on one core.
/// </summary>
internal sealed class RollupCheck(string data) : IDerivedDataCheck, IDisposable
{
    /// <summary>Blocks collected or being rolled up at once (each holds up to 65,536 entries' figures).</summary>
    private const int InFlight = 3;

    private readonly HashSet<long> _stored = [.. RollupStore.List(data)];
    private readonly SemaphoreSlim _slots = new(InFlight);
    private readonly List<Task<(long, string)?>> _checks = [];
    private List<Item>? _entries;
    private RollupFile? _expected;
    private long _blockEnd = -1;
    private int _stale;
    private (long, string)? _unreadable;

    public static IDerivedDataCheck Create(string data) => new RollupCheck(data);

    public void Add(in RequestFacts request)
    {
        if (_stored.Count > 0 && Collecting(request.Seq) is { } entries)
        {
            entries.Add(new Item(request, null));
            Collected(request.Seq);
        }
    }

    public void Add(LoggedEntry other)
    {
        if (_stored.Count > 0 && Collecting(other.Seq) is { } entries)
        {
            entries.Add(new Item(default, other));
            Collected(other.Seq);
        }
    }

    /// <summary>Where the entry <paramref name="seq"/> goes: the list of its block when the block has a rollup to compare with.</summary>
    private List<Item>? Collecting(long seq)
    {
        if (seq >= _blockEnd)
        {
            _entries = null;
            Begin(seq);
        }

        return _entries;
    }

    private void Begin(long first)
    {
        _blockEnd = RollupStore.BlockEnd(first);
        _expected = null;
        if (!_stored.Contains(first) || _unreadable is not null)
        {
            return;
        }

        _expected = RollupStore.TryRead(data, first, out var problem);
        if (_expected is null)
        {
            if (problem?.StartsWith("version", StringComparison.Ordinal) == true)
            {
                _stale++;
            }
            else
            {
                _unreadable = (first, $"{Name(first)} cannot be read: {problem}");
            }

            return;
        }

        _slots.Wait();
        _entries = new List<Item>((int)(_expected.EndSeq - first));
    }

    /// <summary>Once the block's rollup is covered, rolls it up and compares on the thread pool.</summary>
    private void Collected(long seq)
    {
        if (seq + 1 != _expected!.EndSeq)
        {
            return;
        }

        var (entries, expected) = (_entries!, _expected);
        _entries = null;
        _expected = null;
        _checks.Add(Task.Run(() =>
        {
            try
            {
                return Compare(entries, expected);
            }
            finally
            {
                _slots.Release();
            }
        }));
    }

    private static (long, string)? Compare(List<Item> entries, RollupFile expected)
    {
        var builder = new RollupBuilder(expected.Node, expected.FirstSeq);
        foreach (var item in entries)
        {
            if (item.Other is { } other)
            {
                builder.Add(other.Seq, other.Timestamp, other.Body);
            }
            else
            {
                builder.Add(item.Request);
            }
        }

        var built = builder.Build();
        return RollupCodec.Encode(built).AsSpan().SequenceEqual(RollupCodec.Encode(expected))
            ? null
            : (built.FirstSeq, $"{Name(built.FirstSeq)} does not match the entries it summarises ({Difference(built, expected)}); the log itself verified");
    }

    public (long Seq, string Reason)? Finish(out string summary)
    {
        var results = Task.WhenAll(_checks).GetAwaiter().GetResult();
        var mismatch = results.Where(r => r is not null).OrderBy(r => r!.Value.Item1).FirstOrDefault();
        if (mismatch is null && _expected is not null && _entries is not null)
        {
            var end = _expected.FirstSeq + _entries.Count;
            mismatch = (_expected.FirstSeq, $"{Name(_expected.FirstSeq)} names seqs up to {_expected.EndSeq - 1}, past the end of the log at {end}");
        }

        mismatch ??= _unreadable;
        if (_unreadable is { } unreadable && mismatch is { } found && unreadable.Item1 < found.Item1)
        {
            mismatch = unreadable;
        }

        summary = $"rollups={results.Length}" + (_stale > 0 ? $" rollups-stale={_stale} (rebuilt by the gateway)" : "");
        return mismatch;
    }

    public void Dispose()
    {
        Task.WhenAll(_checks).Wait();
        _slots.Dispose();
    }

    /// <summary>A request's figures, or another kind of entry (<see cref="Other"/> set).</summary>
    private readonly record struct Item(RequestFacts Request, LoggedEntry? Other);

    private static string Name(long first) => "rollup/" + Path.GetFileName(RollupStore.PathOf("", first));

    private static string Difference(RollupFile built, RollupFile stored)
    {
        if (built.Node != stored.Node || built.EndSeq != stored.EndSeq || built.Minutes.Count != stored.Minutes.Count)
        {
            return $"{stored.Minutes.Count} minutes to seq {stored.EndSeq - 1} stored, {built.Minutes.Count} to seq {built.EndSeq - 1} in the log";
        }

        for (var i = 0; i < built.Minutes.Count; i++)
        {
            var (a, b) = (built.Minutes[i], stored.Minutes[i]);
            if (!JsonSerializer.SerializeToUtf8Bytes(a, RollupJsonContext.Default.MinuteRollup).AsSpan().SequenceEqual(JsonSerializer.SerializeToUtf8Bytes(b, RollupJsonContext.Default.MinuteRollup)))
            {
                return $"minute {ReportTable.Time(a.Start)} differs";
            }
        }

        return "the files differ";
    }
}
