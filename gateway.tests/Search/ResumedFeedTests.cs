using System.Runtime.CompilerServices;
using System.Threading.Channels;
using AuditGateway.Audit;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;
using AuditGateway.Search;
using AuditGateway.Tests.Audit;
using AuditGateway.Tests.Common;

using static AuditGateway.Tests.Audit.AuditTestKit;

namespace AuditGateway.Tests.Search;

/// <summary>
/// The resumable live feed, with the subscription's timing under the test's control: entries the
/// subscription also delivers are not repeated, seqs it skipped are read from the files.
/// </summary>
public sealed class ResumedFeedTests : IDisposable
{
    private const int Entries = 40;
    private readonly TempDataDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A log whose durable size is fixed and whose subscription delivers exactly the given seqs (read from the real files).</summary>
    private sealed class ScriptedLog(string data, long durableSize, IEnumerable<long> delivered) : IAuditLog
    {
        public long DurableSize => durableSize;

        public bool Subscribed { get; private set; }

        public SignedCheckpoint? LatestCheckpoint => null;

        public LogAvailability Availability => throw new NotSupportedException();

        public ValueTask EnqueueAsync(AuditEntry entry, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<AuditReceipt> AppendDurableAsync(AuditEntry entry, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public async IAsyncEnumerable<LiveEntry> SubscribeAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            Subscribed = true;
            var lines = AuditLogFiles.ReadLines(data);
            var channel = Channel.CreateUnbounded<LiveEntry>();
            foreach (var seq in delivered)
            {
                var entry = EntryParser.TryParse(lines[(int)seq], out _)!;
                channel.Writer.TryWrite(new LiveEntry(seq, entry.Kind, System.Text.Encoding.UTF8.GetString(lines[(int)seq])));
            }

            channel.Writer.Complete();
            await foreach (var live in channel.Reader.ReadAllAsync(cancellationToken))
            {
                yield return live;
            }
        }
    }

    private async Task<List<long>> ReadAsync(ScriptedLog log, long? after)
    {
        var lines = AuditLogFiles.ReadLines(_dir.Path);
        var seqs = new List<long>();
        var subscribedFirst = false;
        await foreach (var entry in ResumedFeed.ReadAsync(log, _dir.Path, after, () => Task.FromResult(subscribedFirst = log.Subscribed), CancellationToken.None))
        {
            Assert.Equal(System.Text.Encoding.UTF8.GetString(lines[(int)entry.Seq]), entry.Json);
            seqs.Add(entry.Seq);
        }

        Assert.True(subscribedFirst, "subscribed before anything is read");
        return seqs;
    }

    private static IEnumerable<long> Range(long from, long toInclusive) => Enumerable.Range((int)from, (int)(toInclusive - from + 1)).Select(i => (long)i);

    [Fact]
    public async Task Entries_the_subscription_also_delivers_are_sent_once()
    {
        await WriteLogAsync(_dir.Path, Entries);
        var log = new ScriptedLog(_dir.Path, durableSize: 30, delivered: Range(25, Entries + 1));
        Assert.Equal(Range(10, Entries + 1), await ReadAsync(log, after: 9));
    }

    [Fact]
    public async Task Seqs_the_subscription_skipped_are_read_from_the_files()
    {
        await WriteLogAsync(_dir.Path, Entries);
        var log = new ScriptedLog(_dir.Path, durableSize: 20, delivered: [20, 21, .. Range(30, Entries + 1)]);
        Assert.Equal(Range(5, Entries + 1), await ReadAsync(log, after: 4));
    }

    [Fact]
    public async Task Without_a_last_seq_the_feed_starts_at_the_durable_size()
    {
        await WriteLogAsync(_dir.Path, Entries);
        var log = new ScriptedLog(_dir.Path, durableSize: 35, delivered: Range(33, Entries + 1));
        Assert.Equal(Range(35, Entries + 1), await ReadAsync(log, after: null));
    }
}
