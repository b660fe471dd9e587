using AuditGateway.Audit;
using AuditGateway.Audit.Storage;
using StackExchange.Redis;

namespace AuditGateway.Redis;

/// <summary>
/// Publishes every checkpoint this node signs to Redis, where <c>auditgw verify --redis</c> finds them
/// as a witness (docs/audit-log.md, "Witness"): the sorted set <c>auditgw:witness:&lt;node&gt;</c> holds
/// each signed note exactly as stored in <c>checkpoints/</c>, scored by its tree size, the newest
/// <see cref="Keep"/> of them; the newest of each round is also published on <c>auditgw:witness</c> for
/// live watchers. The writer's thread only hands a checkpoint over; publishing runs on the thread pool,
/// one round at a time. Checkpoints signed while Redis is down wait here (the newest <see cref="Keep"/>)
/// and are published when it answers again; one whose write failed while the link was up is tried again
/// after <see cref="RetryAfter"/> (or with the next checkpoint).
/// </summary>
internal sealed partial class CheckpointWitness : IAsyncDisposable
{
    /// <summary>Checkpoints kept per node in Redis, and waiting here for Redis at most.</summary>
    public const int Keep = 10_000;

    public static readonly RedisChannel Channel = RedisChannel.Literal("auditgw:witness");

    /// <summary>Checkpoints written in one round trip (each note is about 200 bytes).</summary>
    private const int RoundSize = 256;

    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    private readonly RedisLink _link;
    private readonly TimeProvider _time;
    private readonly RedisKey _key;
    private readonly ILogger<CheckpointWitness> _logger;
    private readonly Lock _lock = new();
    private readonly SortedDictionary<long, SignedCheckpoint> _unpublished = [];
    private readonly SemaphoreSlim _publishing = new(1, 1);
    private readonly ITimer _retry;
    private long _dropped;
    private bool _waited;
    private bool _failing;
    private bool _stopped;
    private WitnessAgreement? _agreement;

    /// <summary>Starts observing the log's checkpoints; the one signed when the log opened waits for the first connection.</summary>
    public CheckpointWitness(RedisLink link, IAuditLog log, ISignedCheckpoints checkpoints, TimeProvider time, ILogger<CheckpointWitness> logger)
    {
        _link = link;
        _time = time;
        _key = KeyOf(link.Node);
        _logger = logger;
        _retry = time.CreateTimer(static state => ((CheckpointWitness)state!).Trigger(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        checkpoints.ObserveCheckpoints(OnSigned);
        if (log.LatestCheckpoint is { } latest)
        {
            Add(latest);
        }

        link.Restored += Trigger;
    }

    /// <summary>Whether Redis, read back after the last publish, holds this node's newest checkpoint and nothing contradicting it; null before the first publish.</summary>
    public WitnessAgreement? Agreement => Volatile.Read(ref _agreement);

    /// <summary>
    /// The witness agrees when the only note Redis holds at this node's newest size is the one just
    /// published and none is larger; another note at that size is a fork, a larger one a checkpoint this
    /// log does not have (another process writing under this node name, or a log cut back).
    /// </summary>
    private WitnessAgreement Compare(long size, RedisValue published, RedisValue[] atSize, SortedSetEntry[] top)
    {
        var now = _time.GetUtcNow();
        if (atSize.Any(n => n != published))
        {
            return new WitnessAgreement(size, false, $"Redis holds another signed checkpoint of size {size} for this node: a fork (run auditgw verify --redis)", now);
        }

        if (top.Length == 1 && (long)top[0].Score > size)
        {
            return new WitnessAgreement(size, false, $"Redis holds a checkpoint of size {(long)top[0].Score} for this node, larger than its log's {size} (run auditgw verify --redis)", now);
        }

        return new WitnessAgreement(size, true, null, now);
    }

    /// <summary>The sorted set of a node's witnessed checkpoints.</summary>
    public static RedisKey KeyOf(string node) => "auditgw:witness:" + node;

    /// <summary>Checkpoints not yet in Redis.</summary>
    private int Unpublished
    {
        get
        {
            lock (_lock)
            {
                return _unpublished.Count;
            }
        }
    }

    /// <summary>On the writer's thread: keep it and hand the publishing to the thread pool.</summary>
    private void OnSigned(SignedCheckpoint checkpoint)
    {
        Add(checkpoint);
        Trigger();
    }

    private void Add(SignedCheckpoint checkpoint)
    {
        lock (_lock)
        {
            _unpublished[checkpoint.Checkpoint.Size] = checkpoint;
            if (_unpublished.Count > Keep)
            {
                _unpublished.Remove(_unpublished.Keys.First());
                Interlocked.Increment(ref _dropped);
            }
        }
    }

    private void Trigger() => _ = Task.Run(PublishAsync);

    /// <summary>Publishes what waits, unless a round is running already (it takes what was added meanwhile) or Redis is down (<see cref="RedisLink.Restored"/> triggers it).</summary>
    private async Task PublishAsync()
    {
        while (!Volatile.Read(ref _stopped) && Unpublished > 0)
        {
            if (!_link.IsUp)
            {
                Volatile.Write(ref _waited, true);
                return;
            }

            if (!await _publishing.WaitAsync(0))
            {
                return;
            }

            bool written;
            try
            {
                written = !Volatile.Read(ref _stopped) && await PublishRoundsAsync();
            }
            finally
            {
                _publishing.Release();
            }

            if (!written)
            {
                return;
            }
        }
    }

    /// <summary>Writes round after round until nothing waits; false when a write failed (retried later).</summary>
    private async Task<bool> PublishRoundsAsync()
    {
        var published = 0;
        var newest = 0L;
        while (TakeRound() is { Length: > 0 } round)
        {
            if (_link.Database is not { } database || !await TryWriteAsync(database, round))
            {
                Volatile.Write(ref _waited, true);
                return false;
            }

            lock (_lock)
            {
                foreach (var checkpoint in round)
                {
                    _unpublished.Remove(checkpoint.Checkpoint.Size);
                }
            }

            published += round.Length;
            newest = round[^1].Checkpoint.Size;
        }

        if (published > 0 && Volatile.Read(ref _waited))
        {
            Volatile.Write(ref _waited, false);
            var dropped = Interlocked.Exchange(ref _dropped, 0);
            Log.CaughtUp(_logger, published, newest, dropped);
        }

        return true;
    }

    private SignedCheckpoint[] TakeRound()
    {
        lock (_lock)
        {
            return [.. _unpublished.Values.Take(RoundSize)];
        }
    }

    private async Task<bool> TryWriteAsync(IDatabase database, SignedCheckpoint[] round)
    {
        var members = round.Select(c => new SortedSetEntry(c.Note.ToString(), c.Checkpoint.Size)).ToArray();
        var newest = round[^1].Checkpoint.Size;
        try
        {
            var batch = database.CreateBatch();
            var added = batch.SortedSetAddAsync(_key, members);
            var trimmed = batch.SortedSetRemoveRangeByRankAsync(_key, 0, -(Keep + 1));
            var announced = batch.PublishAsync(Channel, members[^1].Element);
            var atSize = batch.SortedSetRangeByScoreAsync(_key, newest, newest);
            var top = batch.SortedSetRangeByRankWithScoresAsync(_key, -1, -1);
            batch.Execute();
            await Task.WhenAll(added, trimmed, announced, atSize, top);
            Volatile.Write(ref _failing, false);
            Volatile.Write(ref _agreement, Compare(newest, members[^1].Element, await atSize, await top));
            return true;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _link.Failed();
            if (!Volatile.Read(ref _failing))
            {
                Volatile.Write(ref _failing, true);
                Log.PublishFailed(_logger, round[0].Checkpoint.Size, e.Message);
            }

            if (!Volatile.Read(ref _stopped))
            {
                _retry.Change(RetryAfter, Timeout.InfiniteTimeSpan);
            }

            return false;
        }
    }

    /// <summary>
    /// Stops publishing once the round in flight (bounded by <c>redis.timeout</c>) is done; the semaphore
    /// stays taken, so a checkpoint signed after this (the log's last, published at the next start) only waits.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Volatile.Write(ref _stopped, true);
        _link.Restored -= Trigger;
        await _publishing.WaitAsync();
        await _retry.DisposeAsync();
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot publish the checkpoint of size {Size} to the Redis witness ({Reason}): it waits here and is published when Redis answers (logged once per outage)")]
        public static partial void PublishFailed(ILogger logger, long size, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "Published {Count} checkpoint(s) that waited for Redis to the witness, up to size {Size}; {Dropped} older ones were not kept while it was down")]
        public static partial void CaughtUp(ILogger logger, int count, long size, long dropped);
    }
}

/// <summary>What this node last saw of its witness: the newest size it published, and whether Redis agrees (else why not).</summary>
internal sealed record WitnessAgreement(long Size, bool Agrees, string? Problem, DateTimeOffset CheckedAt);
