using System.Runtime.CompilerServices;
using System.Text;
using AuditGateway.Audit;

namespace AuditGateway.Search;

/// <summary>
/// The live entries of the log, resumable after a seq without a gap or a repeat (the SSE stream's
/// <c>Last-Event-ID</c>): subscribe first, then send from the files what was durable after that seq,
/// then the subscription, skipping seqs already sent and reading from the files any seq it skipped
/// (a subscriber that falls behind loses its oldest live entries; the log keeps them).
/// </summary>
internal static class ResumedFeed
{
    /// <param name="log">The log to subscribe to.</param>
    /// <param name="dataDirectory">Its data directory, for entries from before the subscription and for gaps.</param>
    /// <param name="after">Resume after this seq; null = from the next entry written.</param>
    /// <param name="subscribed">Called once the subscription is in place, before the first entry (the stream sends its headers).</param>
    /// <param name="cancellationToken">Ends the feed.</param>
    public static async IAsyncEnumerable<LiveEntry> ReadAsync(
        IAuditLog log, string dataDirectory, long? after, Func<Task>? subscribed, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await using var live = log.SubscribeAsync(stop.Token).GetAsyncEnumerator(stop.Token);

        // The first MoveNextAsync registers the subscription before it waits: from here on every durable entry arrives.
        var pending = live.MoveNextAsync().AsTask();
        try
        {
            if (subscribed is not null)
            {
                await subscribed();
            }

            using var files = new LogFollower(dataDirectory);
            var next = log.DurableSize;
            if (after is { } seq)
            {
                next = seq + 1;
                foreach (var entry in FromFiles(files, next, log.DurableSize))
                {
                    next = entry.Seq + 1;
                    yield return entry;
                }
            }

            while (await pending)
            {
                var entry = live.Current;
                if (entry.Seq >= next)
                {
                    foreach (var missed in FromFiles(files, next, entry.Seq))
                    {
                        yield return missed;
                    }

                    next = entry.Seq + 1;
                    yield return entry;
                }

                pending = live.MoveNextAsync().AsTask();
            }
        }
        finally
        {
            // The subscription may be disposed only once no MoveNextAsync is running.
            await stop.CancelAsync();
            await pending.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private static IEnumerable<LiveEntry> FromFiles(LogFollower files, long from, long to) =>
        files.Read(from, to).Select(e => new LiveEntry(e.Entry.Seq, e.Entry.Kind, Encoding.UTF8.GetString(e.Line)));
}
