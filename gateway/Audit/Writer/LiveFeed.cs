using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using AuditGateway.Audit.Entries;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// Durable entries for live subscribers. Each subscriber reads a bounded channel of its own; one that
/// falls behind loses its oldest unread entries (the log keeps them), so a slow reader never holds
/// up the writer.
/// </summary>
internal sealed class LiveFeed
{
    private const int Capacity = 4096;

    private readonly Lock _lock = new();
    private ChannelWriter<LiveEntry>[] _subscribers = [];

    public async IAsyncEnumerable<LiveEntry> SubscribeAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<LiveEntry>(new BoundedChannelOptions(Capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.DropOldest,
        });
        lock (_lock)
        {
            _subscribers = [.. _subscribers, channel.Writer];
        }

        try
        {
            await foreach (var entry in channel.Reader.ReadAllAsync(cancellationToken))
            {
                yield return entry;
            }
        }
        finally
        {
            lock (_lock)
            {
                _subscribers = [.. _subscribers.Where(s => s != channel.Writer)];
            }
        }
    }

    /// <summary>Shows subscribers lines just made durable: line <c>i</c> (each ends in a newline) is entry <paramref name="firstSeq"/> + i, of kind <paramref name="kinds"/>[i].</summary>
    public void Publish(long firstSeq, ReadOnlySpan<byte> lines, ReadOnlySpan<AuditKind> kinds)
    {
        var subscribers = Volatile.Read(ref _subscribers);
        if (subscribers.Length == 0 || lines.Length == 0)
        {
            return;
        }

        var seq = firstSeq;
        var i = 0;
        while (lines.Length > 0)
        {
            var newline = lines.IndexOf((byte)'\n');
            var live = new LiveEntry(seq++, kinds[i++], Encoding.UTF8.GetString(lines[..newline]));
            foreach (var subscriber in subscribers)
            {
                subscriber.TryWrite(live);
            }

            lines = lines[(newline + 1)..];
        }
    }

    /// <summary>Ends every subscription: the log is closed.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            foreach (var subscriber in _subscribers)
            {
                subscriber.TryComplete();
            }
        }
    }
}
