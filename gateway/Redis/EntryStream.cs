using System.Globalization;
using AuditGateway.Audit;
using AuditGateway.Audit.Entries;
using AuditGateway.Search;
using StackExchange.Redis;

namespace AuditGateway.Redis;

/// <summary>
/// With <c>redis.streamEntries</c>: every durable entry of this node's log appended to the Stream
/// <c>auditgw:log:&lt;node&gt;</c> (trimmed to about <c>redis.streamMaxLength</c> entries), for central
/// tailing (<c>auditgw tail --redis</c>). A Stream entry's id is <c>&lt;seq&gt;-1</c>, so ids grow with
/// the log across restarts, a gap shows, and <c>XRANGE key 100 200</c> is seq 100 to 200; its fields are
/// <c>seq</c>, <c>kind</c> and <c>line</c>, the entry's exact line (a reader can check it against the log).
/// <para>
/// Each time Redis answers (the first time and after every outage) the last id in the Stream says where
/// to go on; what the Stream lacks is read from the log files, then the live feed follows, with the
/// entries it dropped for falling behind read from the files too (<see cref="ResumedFeed"/>). A Stream
/// that is gone (a new node, or a Redis that restarted empty) is filled with the newest
/// <c>streamMaxLength</c> entries of the log; so is one missing more than that after a long outage.
/// Appends are pipelined in batches, off the request path and the writer's thread. A failure ends the
/// run; the next starts when Redis answers again or after <see cref="RetryInterval"/>. Failures are
/// logged once until the Stream has caught up again. What the log writes as it closes (the
/// <c>stop</c> entry) comes after the link is gone: it reaches the Stream when the node starts again.
/// </para>
/// </summary>
internal sealed partial class EntryStream : IAsyncDisposable
{
    public const string KeyPrefix = "auditgw:log:";

    /// <summary>How soon a run that failed while the link stayed up (a slow answer) is tried again.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);

    /// <summary>At most this many entries per pipelined batch, and about this many bytes of lines.</summary>
    private const int BatchEntries = 256;
    private const int BatchBytes = 256 * 1024;

    private static readonly RedisValue SeqField = "seq";
    private static readonly RedisValue KindField = "kind";
    private static readonly RedisValue LineField = "line";
    private static readonly RedisValue[] KindValues = [.. EntryEncoder.KindNames.Select(name => (RedisValue)name)];

    private readonly RedisLink _link;
    private readonly IAuditLog _log;
    private readonly string _dataDirectory;
    private readonly TimeProvider _time;
    private readonly ILogger<EntryStream> _logger;
    private readonly string _keyName;
    private readonly RedisKey _key;
    private readonly long _maxLength;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _runLock = new();
    private TaskCompletionSource _wake = NewWake();
    private CancellationTokenSource? _run;
    private Task? _loop;
    private bool _failing;
    private bool _aheadReported;

    public EntryStream(RedisLink link, IAuditLog log, AuditOptions audit, TimeProvider time, ILogger<EntryStream> logger)
    {
        _link = link;
        _log = log;
        _dataDirectory = audit.DataDirectory;
        _time = time;
        _logger = logger;
        _keyName = KeyPrefix + link.Node;
        _key = _keyName;
        _maxLength = link.Options.StreamMaxLength;
        _link.Restored += OnRestored;
    }

    /// <summary>The Stream id of entry <paramref name="seq"/>: <c>&lt;seq&gt;-1</c> (Redis takes no <c>0-0</c>).</summary>
    private static RedisValue IdOf(long seq) => string.Create(CultureInfo.InvariantCulture, $"{seq}-1");

    /// <summary>The seq a Stream id stands for (its first part), or null for an id that is not a number.</summary>
    internal static long? SeqOf(RedisValue id)
    {
        var text = ((string?)id ?? "").AsSpan();
        var dash = text.IndexOf('-');
        return long.TryParse(dash < 0 ? text : text[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? seq : null;
    }

    /// <summary>Starts appending in the background (the first run waits until Redis answers); the log is open.</summary>
    public void Start() => _loop = Task.Run(() => LoopAsync(_stopping.Token));

    public async ValueTask DisposeAsync()
    {
        _link.Restored -= OnRestored;
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        _stopping.Dispose();
    }

    private static TaskCompletionSource NewWake() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Redis answers again, perhaps restarted and empty: the run in progress (if any) starts over from where the Stream ends.</summary>
    private void OnRestored()
    {
        lock (_runLock)
        {
            _run?.Cancel();
        }

        Interlocked.Exchange(ref _wake, NewWake()).TrySetResult();
    }

    private async Task LoopAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var wake = Volatile.Read(ref _wake).Task;
            if (_link.IsUp && _link.Database is { } database && await RunAsync(database, stopping))
            {
                return;
            }

            await Task.WhenAny(wake, Task.Delay(RetryInterval, _time, stopping));
        }
    }

    /// <summary>One run: from where the Stream ends to the end of the log's feed; true when the log closed.</summary>
    private async Task<bool> RunAsync(IDatabase database, CancellationToken stopping)
    {
        using var run = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        lock (_runLock)
        {
            _run = run;
        }

        try
        {
            await AppendAsync(database, await ResumeAfterAsync(database), run.Token);
            return true;
        }
        catch (OperationCanceledException) when (run.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _link.Failed();
            if (!_failing)
            {
                _failing = true;
                Log.AppendFailed(_logger, _keyName, RedisFailure.Describe(e, _link.Options.Timeout));
            }

            return false;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            if (!_failing)
            {
                _failing = true;
                Log.ReadFailed(_logger, _keyName, e.Message);
            }

            return false;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Whatever else goes wrong, the loop tries again: the stream must not stop for good.
            if (!_failing)
            {
                _failing = true;
                Log.ReadFailed(_logger, _keyName, e.GetType().Name + ": " + e.Message);
            }

            return false;
        }
        finally
        {
            lock (_runLock)
            {
                _run = null;
            }
        }
    }

    /// <summary>
    /// The seq after which to append: the Stream's last, but no earlier than the entry before the log's
    /// newest <c>streamMaxLength</c> (older ones would be trimmed at once; their ids show the gap).
    /// </summary>
    private async Task<long> ResumeAfterAsync(IDatabase database)
    {
        var last = await database.StreamRangeAsync(_key, "-", "+", count: 1, messageOrder: Order.Descending);
        var durable = _log.DurableSize;
        var newest = Math.Max(0, durable - _maxLength) - 1;
        if (last.Length == 0)
        {
            return newest;
        }

        var after = SeqOf(last[0].Id) ?? long.MaxValue - 1;
        if (after >= durable && !_aheadReported)
        {
            // Another log wrote under this node name (a data directory started afresh): its entries stay, this one's follow them.
            _aheadReported = true;
            Log.StreamAhead(_logger, _keyName, (string?)last[0].Id ?? "", durable);
        }

        return Math.Max(after, newest);
    }

    /// <summary>Appends the entries after <paramref name="after"/> as the feed gives them: a batch goes out when full or when the feed has nothing more at once.</summary>
    private async Task AppendAsync(IDatabase database, long after, CancellationToken cancellationToken)
    {
        using var feedStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var feed = ResumedFeed.ReadAsync(_log, _dataDirectory, after, null, feedStop.Token).GetAsyncEnumerator(feedStop.Token);
        var batch = new List<LiveEntry>(BatchEntries);
        var bytes = 0;
        Task<bool>? next = null;
        try
        {
            while (true)
            {
                next = feed.MoveNextAsync().AsTask();
                if (!next.IsCompleted && batch.Count > 0)
                {
                    await SendAsync(database, batch);
                    CaughtUp(batch[^1].Seq);
                    batch.Clear();
                    bytes = 0;
                }

                var more = await next;
                next = null;
                if (!more)
                {
                    break;
                }

                batch.Add(feed.Current);
                bytes += feed.Current.Json.Length;
                if (batch.Count >= BatchEntries || bytes >= BatchBytes)
                {
                    await SendAsync(database, batch);
                    batch.Clear();
                    bytes = 0;
                }
            }

            if (batch.Count > 0)
            {
                await SendAsync(database, batch);
            }
        }
        finally
        {
            // The feed may be disposed only once no MoveNextAsync is running (a batch failed while one waited).
            if (next is not null)
            {
                await feedStop.CancelAsync();
                await next.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            await feed.DisposeAsync();
        }
    }

    /// <summary>The Stream holds every entry durable so far: a failure from here on is a new incident, logged again.</summary>
    private void CaughtUp(long seq)
    {
        if (_failing)
        {
            _failing = false;
            Log.CaughtUp(_logger, _keyName, seq);
        }
    }

    /// <summary>XADDs a batch in one pipeline, each with its explicit id and approximate trimming; throws when any is refused or unanswered.</summary>
    private async Task SendAsync(IDatabase database, List<LiveEntry> batch)
    {
        var pipeline = database.CreateBatch();
        var added = new Task[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var entry = batch[i];
            added[i] = pipeline.StreamAddAsync(
                _key,
                [new NameValueEntry(SeqField, entry.Seq), new NameValueEntry(KindField, KindValues[(int)entry.Kind]), new NameValueEntry(LineField, entry.Json)],
                new StreamAddOptions { MessageId = IdOf(entry.Seq), MaxLength = _maxLength, Approximate = true });
        }

        pipeline.Execute();
        await Task.WhenAll(added);
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot append entries to the Redis stream {Key} ({Reason}): the log keeps them and they are appended when Redis answers (further failures are not logged until the stream has caught up)")]
        public static partial void AppendFailed(ILogger logger, string key, string reason);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot read the log to append it to the Redis stream {Key} ({Reason}); retried")]
        public static partial void ReadFailed(ILogger logger, string key, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "The Redis stream {Key} has caught up with the log (to seq {Seq})")]
        public static partial void CaughtUp(ILogger logger, string key, long seq);

        [LoggerMessage(Level = LogLevel.Warning, Message = "The Redis stream {Key} ends at id {Id}, beyond this log's {Entries} entries (another log wrote under this node name): appending resumes once this log's seq passes it")]
        public static partial void StreamAhead(ILogger logger, string key, string id, long entries);
    }
}
