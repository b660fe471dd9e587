using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Notes;
using AuditGateway.Audit.Storage;
using AuditGateway.Audit.Verification;
using AuditGateway.Audit.Writer;

using static AuditGateway.Tests.Audit.AuditTestKit;

namespace AuditGateway.Tests.Audit;

/// <summary>
/// <see cref="LogVerifier.OnRequest"/> hands over the figures of every request entry as parsing
/// would give them, whether the line was proved by the scanner or by the full check; and verify
/// reads a log of several blocks the same way it read one.
/// </summary>
public sealed class VerifyFactsTests : IDisposable
{
    /// <summary>More than one block of lines (<see cref="LineBlock.Capacity"/>).</summary>
    private const int Entries = LineBlock.Capacity + 300;

    private readonly TempDataDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Request entries the scanner proves and ones it leaves to the full check (escapes), with and without routes; other kinds between them.</summary>
    private static AuditEntry Mixed(int i)
    {
        var sample = SampleEntries.Request(i, new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero).AddMicroseconds(i * 997));
        var request = (RequestBody)sample.Body;
        return (i % 6) switch
        {
            0 => sample,
            1 => Entry(1),
            2 => sample with { Body = request with { Path = "/with \"quotes\" \\ and\ttab", Status = 500 + (i % 7), UpstreamLatencyUs = null } },
            3 => Entry(3),
            4 => sample with
            {
                Body = request with
                {
                    Route = request.Route! with { Id = "other/route" },
                    Decision = new RequestDecision(Decision.Deny, "r", null),
                    Attempts = [new UpstreamAttempt("10.0.0.9:80", "reset")],
                    TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
                    LatencyUs = i,
                    BytesIn = i * 3L,
                },
            },
            _ => Entry(2),
        };
    }

    private async Task WriteAsync()
    {
        await using var log = await AuditLog.OpenAsync(Options(_dir.Path));
        for (var i = 0; i < Entries; i++)
        {
            await log.EnqueueAsync(Mixed(i));
        }
    }

    /// <summary>The facts of every request entry, from parsing every line.</summary>
    private List<RequestFacts> Parsed()
    {
        var facts = new List<RequestFacts>();
        using var reader = new LogReader(_dir.Path);
        while (reader.Read())
        {
            var entry = EntryParser.TryParse(reader.Line, out var error) ?? throw new InvalidOperationException(error);
            if (entry.Body is RequestBody request)
            {
                facts.Add(RequestFacts.Of(entry, request, request.Route?.Id));
            }
        }

        return facts;
    }

    private LogVerifier Verifier(RequestVisitor onRequest, VerifiedEntryVisitor? onEntry = null) =>
        new(_dir.Path, SigningKeys.Load(Path.Combine(_dir.Path, "keys", "signing.pub.pem")), trusted: null, Sha256Selection.Select(Sha256Choice.Auto).Sha256)
        {
            OnRequest = onRequest,
            OnEntry = onEntry,
        };

    [Fact]
    public async Task OnRequest_gets_the_figures_of_every_request_entry_in_seq_order_with_one_string_per_route_id()
    {
        await WriteAsync();
        var seen = new List<RequestFacts>();
        using var verifier = Verifier((in RequestFacts facts) => seen.Add(facts));

        var result = verifier.Verify();

        Assert.True(result.Intact, result.Reason);
        var expected = Parsed();
        Assert.Equal(Enumerable.Range(0, Entries).Count(i => Mixed(i).Body is RequestBody), expected.Count);
        Assert.Equal(expected, seen);
        foreach (var group in seen.Where(f => f.RouteId is not null).GroupBy(f => f.RouteId))
        {
            Assert.All(group, f => Assert.Same(group.First().RouteId, f.RouteId));
        }

        Assert.Equal(2, seen.Select(f => f.RouteId).Distinct().Count(id => id is not null));
    }

    [Fact]
    public async Task OnRequest_and_OnEntry_together_see_the_same_entries()
    {
        await WriteAsync();
        var seen = new List<RequestFacts>();
        var entries = new List<LoggedEntry>();
        using var verifier = Verifier((in RequestFacts facts) => seen.Add(facts), (entry, _) => entries.Add(entry));

        var result = verifier.Verify();

        Assert.True(result.Intact, result.Reason);
        Assert.Equal(result.Entries, entries.Count);
        Assert.Equal(Enumerable.Range(0, entries.Count).Select(i => (long)i), entries.Select(e => e.Seq));
        Assert.Equal(Parsed(), seen);
    }

    [Fact]
    public async Task The_blocks_read_before_a_read_failure_are_handed_over_before_the_failure()
    {
        await WriteLogAsync(_dir.Path, (2 * LineBlock.Capacity) + 10);
        var gone = new SegmentFile(1_000_000, LogLayout.SegmentPath(_dir.Path, 1_000_000));
        using var reader = new LogReader(_dir.Path, d => [.. LogLayout.Segments(d), gone]);
        using var feed = new BlockFeed(reader, Sha256Selection.Select(Sha256Choice.Auto).Sha256);

        var lines = 0;
        while (feed.Take() is { } block)
        {
            lines += block.Count;
            feed.Return(block);
        }

        // The whole blocks before the missing segment; the lines of the block it cut short are not checked, as before.
        Assert.Equal(2 * LineBlock.Capacity, lines);
        Assert.Throws<FileNotFoundException>(feed.ThrowIfFailed);
    }

    [Fact]
    public async Task A_changed_entry_whose_break_shows_at_the_end_of_a_block_is_named_from_the_next_block()
    {
        await WriteLogAsync(_dir.Path, Entries);
        var clean = ReadLines(_dir.Segment0);
        const int Last = LineBlock.Capacity - 1;

        // The entry before the block's last line changed: the last line's prev does not match, and the next block's first line says which.
        var changed = clean.Select(l => l.ToArray()).ToList();
        changed[Last - 1] = Utf8(System.Text.Encoding.UTF8.GetString(changed[Last - 1]).Replace("\"ts\":\"2025", "\"ts\":\"2024", StringComparison.Ordinal));
        WriteLines(_dir.Segment0, changed);
        var result = await VerifyAsync(_dir.Path);
        Assert.StartsWith($"TAMPERED seq={Last - 1} reason=the entry does not hash", result.Output, StringComparison.Ordinal);

        // The block's last line itself changed (its prev): the next block's first line does not name it as the one before.
        changed = clean.Select(l => l.ToArray()).ToList();
        var text = System.Text.Encoding.UTF8.GetString(changed[Last]);
        var prev = text.IndexOf("\"prev\":\"", StringComparison.Ordinal) + 8;
        changed[Last] = Utf8(text[..prev] + (text[prev] == '0' ? '1' : '0') + text[(prev + 1)..]);
        WriteLines(_dir.Segment0, changed);
        result = await VerifyAsync(_dir.Path);
        Assert.StartsWith($"TAMPERED seq={Last} reason=prev does not match", result.Output, StringComparison.Ordinal);
    }
}
