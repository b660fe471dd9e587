using System.Text.Json;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Verification;

namespace AuditGateway.Reports;

/// <summary>
/// <c>verify</c>'s check of <c>rollup/</c>: every block that has a rollup is rolled up again from its
/// verified entries and must come out identical. A rollup of another version is stale (the gateway
/// rebuilds it) and counted, not failed; one that differs, or cannot be read, fails the check.
/// </summary>
internal sealed class RollupCheck(string data) : IDerivedDataCheck
{
    private readonly HashSet<long> _stored = [.. RollupStore.List(data)];
    private RollupBuilder? _builder;
    private RollupFile? _expected;
    private long _blockEnd = -1;
    private int _checked;
    private int _stale;
    private (long, string)? _mismatch;

    public static IDerivedDataCheck Create(string data) => new RollupCheck(data);

    public void Add(in RequestFacts request)
    {
        if (Next(request.Seq) is { } builder)
        {
            builder.Add(request);
            Done();
        }
    }

    public void Add(LoggedEntry other)
    {
        if (Next(other.Seq) is { } builder)
        {
            builder.Add(other.Seq, other.Timestamp, other.Body);
            Done();
        }
    }

    /// <summary>The builder of the block <paramref name="seq"/> is in, when it has a rollup to compare with.</summary>
    private RollupBuilder? Next(long seq)
    {
        if (_mismatch is not null)
        {
            return null;
        }

        if (seq >= _blockEnd)
        {
            Compare();
            Begin(seq);
        }

        return _builder;
    }

    private void Done()
    {
        if (_builder is not null && _builder.NextSeq == _expected!.EndSeq)
        {
            Compare();
        }
    }

    private void Begin(long first)
    {
        _blockEnd = RollupStore.BlockEnd(first);
        _builder = null;
        _expected = null;
        if (!_stored.Contains(first))
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
                _mismatch = (first, $"{Name(first)} cannot be read: {problem}");
            }

            return;
        }

        _builder = new RollupBuilder(_expected.Node, first);
    }

    /// <summary>Compares a finished block's rollup with the stored one.</summary>
    private void Compare()
    {
        if (_builder is null || _expected is null || _builder.NextSeq != _expected.EndSeq)
        {
            return;
        }

        var built = _builder.Build();
        _builder = null;
        _checked++;
        if (!RollupCodec.Encode(built).AsSpan().SequenceEqual(RollupCodec.Encode(_expected)))
        {
            _mismatch = (built.FirstSeq, $"{Name(built.FirstSeq)} does not match the entries it summarises ({Difference(built, _expected)}); the log itself verified");
        }
    }

    public (long Seq, string Reason)? Finish(out string summary)
    {
        Compare();
        if (_mismatch is null && _expected is not null && _builder is not null)
        {
            _mismatch = (_expected.FirstSeq, $"{Name(_expected.FirstSeq)} names seqs up to {_expected.EndSeq - 1}, past the end of the log at {_builder.NextSeq}");
        }

        summary = $"rollups={_checked}" + (_stale > 0 ? $" rollups-stale={_stale} (rebuilt by the gateway)" : "");
        return _mismatch;
    }

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
