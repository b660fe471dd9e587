using AuditGateway.Audit.Cli;
using AuditGateway.Audit.Entries;
using AuditGateway.Configuration;
using StackExchange.Redis;

namespace AuditGateway.Redis;

/// <summary>
/// <c>auditgw tail --redis URL [--follow] [--kind K]</c>: the entry streams of every node
/// (<c>auditgw:log:*</c>, written by <see cref="EntryStream"/>), each entry printed as <c>tail</c> prints
/// it with its node in front. First what the streams hold when it starts, merged by entry time (a page
/// of each stream at a time, so any length fits in memory); then, following, what arrives: an
/// <c>XREAD</c> over every stream each <see cref="AuditCommands.FollowPoll"/> (StackExchange.Redis has
/// no blocking <c>XREAD</c>: a blocking command would hold its one connection), and a <c>SCAN</c> for
/// the streams of new nodes each <see cref="DiscoverInterval"/>. A Redis that cannot be reached at
/// the start is one line on stderr and exit code 2; while following, an outage is one line and the
/// tail goes on once Redis answers.
/// </summary>
internal static class StreamTail
{
    /// <summary>The longest a command is waited on (longer than the gateway's: a person is waiting, not a request).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan DiscoverInterval = TimeSpan.FromSeconds(1);

    private const int PageSize = 1000;

    private static readonly RedisValue LineField = "line";

    /// <inheritdoc cref="EntryStreamTail"/>
    public static async Task<int> RunAsync(string url, AuditKind? kind, bool follow, TimeProvider time, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        RedisOptions options;
        try
        {
            options = RedisOptions.FromUrl(url) with { Timeout = Timeout };
        }
        catch (OptionException e)
        {
            // The URL is checked as the config's redis.connection is; here it came from --redis.
            await error.WriteLineAsync("auditgw tail: --redis" + e.Message["redis.connection".Length..]);
            return AuditCommands.UsageError;
        }

        await using var connection = await ConnectionMultiplexer.ConnectAsync(options.ToConfiguration("auditgw-tail"));
        var tail = new Reader(connection.GetDatabase(), connection.GetServers()[0], options.Database, kind, output);
        try
        {
            await tail.DiscoverAsync();
            if (tail.Streams == 0)
            {
                await error.WriteLineAsync($"auditgw tail: {options.Url} holds no entry streams ({EntryStream.KeyPrefix}*) yet: do the gateways run with redis.streamEntries: true?");
            }

            await tail.PrintHeldAsync();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            await error.WriteLineAsync($"auditgw tail: Redis at {options.Url}: {RedisFailure.Describe(e, Timeout)}");
            return AuditCommands.UsageError;
        }

        if (follow)
        {
            await FollowAsync(tail, options.Url!, time, output, error, cancellationToken);
        }

        await output.FlushAsync(CancellationToken.None);
        return AuditCommands.Intact;
    }

    /// <summary>Prints what arrives until cancelled (interrupting is how <c>--follow</c> ends).</summary>
    private static async Task FollowAsync(Reader tail, string url, TimeProvider time, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var discoverAt = time.GetUtcNow() + DiscoverInterval;
        var failing = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            var more = false;
            try
            {
                if (time.GetUtcNow() >= discoverAt)
                {
                    await tail.DiscoverAsync();
                    discoverAt = time.GetUtcNow() + DiscoverInterval;
                }

                more = await tail.PrintNewAsync();
                if (failing)
                {
                    failing = false;
                    await error.WriteLineAsync($"auditgw tail: Redis at {url} answers again");
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                if (!failing)
                {
                    failing = true;
                    await error.WriteLineAsync($"auditgw tail: Redis at {url}: {RedisFailure.Describe(e, Timeout)}; still trying");
                }
            }

            try
            {
                await output.FlushAsync(cancellationToken);
                if (!more)
                {
                    await Task.Delay(AuditCommands.FollowPoll, time, cancellationToken);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>One node's stream and how far it has been printed.</summary>
    private sealed class NodeStream(RedisKey key)
    {
        public RedisKey Key { get; } = key;

        public string Node { get; } = ((string)key!)[EntryStream.KeyPrefix.Length..];

        /// <summary>The id of the last entry printed (or passed over by <c>--kind</c>); <c>0-0</c> before the first.</summary>
        public RedisValue Last { get; set; } = "0-0";
    }

    /// <summary>A stream entry with its line parsed (null when it does not parse) and when it was written, for merging.</summary>
    private readonly record struct Item(NodeStream Stream, StreamEntry Raw, LoggedEntry? Entry)
    {
        public DateTimeOffset At => Entry?.Timestamp ?? DateTimeOffset.MinValue;

        public static Item Of(NodeStream stream, StreamEntry raw) => new(stream, raw, EntryParser.TryParse((byte[]?)raw[LineField] ?? [], out _));
    }

    /// <summary>The streams found so far and what of them has been printed.</summary>
    private sealed class Reader(IDatabase database, IServer server, int databaseNumber, AuditKind? kind, TextWriter output)
    {
        private readonly Dictionary<RedisKey, NodeStream> _streams = [];

        public int Streams => _streams.Count;

        /// <summary>Adds the streams not known yet (a new stream is printed from its start).</summary>
        public async Task DiscoverAsync()
        {
            await foreach (var key in server.KeysAsync(databaseNumber, EntryStream.KeyPrefix + "*", PageSize))
            {
                if (!_streams.ContainsKey(key))
                {
                    _streams.Add(key, new NodeStream(key));
                }
            }
        }

        /// <summary>Everything the streams hold now, oldest entry first across nodes; each node's entries stay in its order.</summary>
        public async Task PrintHeldAsync()
        {
            var pages = new PriorityQueue<Page, (DateTimeOffset, string)>();
            foreach (var stream in _streams.Values)
            {
                var top = await database.StreamRangeAsync(stream.Key, "-", "+", count: 1, messageOrder: Order.Descending);
                if (top.Length > 0 && await Page.ReadAsync(database, stream, top[0].Id) is { } page)
                {
                    pages.Enqueue(page, page.Order);
                }
            }

            while (pages.TryDequeue(out var page, out _))
            {
                await PrintAsync(page.Take());
                if (page.Count > 0 || await page.NextAsync(database))
                {
                    pages.Enqueue(page, page.Order);
                }
            }
        }

        /// <summary>What arrived since the last call, by entry time; true when a stream had more than one read takes.</summary>
        public async Task<bool> PrintNewAsync()
        {
            if (_streams.Count == 0)
            {
                return false;
            }

            var read = await database.StreamReadAsync([.. _streams.Values.Select(s => new StreamPosition(s.Key, s.Last))], PageSize);
            var items = read.SelectMany(r => r.Entries.Select(e => Item.Of(_streams[r.Key], e))).OrderBy(i => i.At).ToList();
            foreach (var item in items)
            {
                await PrintAsync(item);
            }

            return read.Any(r => r.Entries.Length == PageSize);
        }

        private async Task PrintAsync(Item item)
        {
            item.Stream.Last = item.Raw.Id;
            if (item.Entry is null)
            {
                await output.WriteLineAsync($"{item.Stream.Node} (unreadable entry {item.Raw.Id} in {item.Stream.Key})");
            }
            else if (kind is null || item.Entry.Kind == kind)
            {
                await output.WriteLineAsync(item.Stream.Node + " " + EntrySummary.Describe(item.Entry));
            }
        }
    }

    /// <summary>A page of one stream's entries up to the id its top had when the tail started.</summary>
    private sealed class Page
    {
        private readonly NodeStream _stream;
        private readonly RedisValue _end;
        private readonly Queue<Item> _items = new();

        private Page(NodeStream stream, RedisValue end)
        {
            _stream = stream;
            _end = end;
        }

        public int Count => _items.Count;

        /// <summary>The head's place in the merge: its time, then the node (so equal times come out the same way each run).</summary>
        public (DateTimeOffset, string) Order => (_items.Peek().At, _stream.Node);

        /// <summary>The first page of <paramref name="stream"/> up to <paramref name="end"/>, or null when it holds nothing.</summary>
        public static async Task<Page?> ReadAsync(IDatabase database, NodeStream stream, RedisValue end)
        {
            var page = new Page(stream, end);
            return await page.NextAsync(database) ? page : null;
        }

        public Item Take() => _items.Dequeue();

        /// <summary>Reads the entries after the last one taken; false when there are none before the end.</summary>
        public async Task<bool> NextAsync(IDatabase database)
        {
            RedisValue from = _stream.Last == "0-0" ? "-" : "(" + _stream.Last;
            foreach (var raw in await database.StreamRangeAsync(_stream.Key, from, _end, count: PageSize))
            {
                _items.Enqueue(Item.Of(_stream, raw));
            }

            return _items.Count > 0;
        }
    }
}
