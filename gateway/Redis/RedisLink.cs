using System.Diagnostics.Metrics;
using System.Globalization;
using AuditGateway.Audit;
using AuditGateway.Audit.Entries;
using AuditGateway.Telemetry;
using StackExchange.Redis;

namespace AuditGateway.Redis;

/// <summary>
/// This node's connection to the Redis its replicas share (docs/replicas.md). Connecting never blocks
/// start-up; every operation is bounded by <c>redis.timeout</c> and fails at once while disconnected,
/// so nothing that uses the link waits on Redis. A probe every <see cref="ProbeInterval"/> says whether
/// Redis answers: the first failure after a healthy spell begins an outage (one warning line, a
/// <c>redis-down</c> lifecycle entry, <c>/readyz</c> and <c>auditgw_redis_up</c> say degraded), the
/// first success after it ends it (<c>redis-restored</c>, with how long it lasted) and raises
/// <see cref="Restored"/>, on which every shared part catches up. The same probe refreshes this node's
/// heartbeat, from which <see cref="Replicas"/> is counted.
/// </summary>
internal sealed partial class RedisLink : IAsyncDisposable
{
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>A node not heard from for this long is no longer counted as a replica.</summary>
    private static readonly TimeSpan HeartbeatLifetime = TimeSpan.FromSeconds(5);

    private static readonly RedisKey NodesKey = "auditgw:nodes";

    private readonly RedisOptions _options;
    private readonly TimeProvider _time;
    private readonly IAuditLog _log;
    private readonly ILogger<RedisLink> _logger;
    private readonly Meter _meter;
    private readonly Counter<long> _failures;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _stateLock = new();
    private ConnectionMultiplexer? _connection;
    private Task? _loop;
    private bool _up;
    private bool _outageReported;
    private DateTimeOffset? _downSince;
    private string? _downReason;
    private int _replicas = 1;
    private int _failedProbes;
    private TaskCompletionSource _probeNow = new();

    public RedisLink(RedisOptions options, string node, TimeProvider time, IAuditLog log, IMeterFactory meters, ILogger<RedisLink> logger)
    {
        _options = options;
        Node = node;
        _time = time;
        _log = log;
        _logger = logger;
        _meter = meters.Create(MeterCollector.GatewayMeter);
        _meter.CreateObservableGauge("auditgw_redis_up", () => IsUp ? 1 : 0, description: "1 while the shared Redis answers; 0 while the gateway serves on local state (redis.connection set).");
        _meter.CreateObservableGauge("auditgw_redis_replicas", () => Replicas, description: "Replicas that sent a heartbeat to Redis in the last 5 s (the last count seen while Redis is down).");
        _failures = _meter.CreateCounter<long>("auditgw_redis_failures_total", description: "Redis operations that failed or timed out (each is retried or caught up later).");
    }

    /// <summary>Raised (on the thread pool) when Redis answers again after an outage, and when it first answers.</summary>
    public event Action? Restored;

    /// <summary>This gateway's node name, as in its entries.</summary>
    public string Node { get; }

    public RedisOptions Options => _options;

    /// <summary>Whether Redis answered the last probe.</summary>
    public bool IsUp
    {
        get
        {
            lock (_stateLock)
            {
                return _up;
            }
        }
    }

    /// <summary>When the current outage began (null while up).</summary>
    public DateTimeOffset? DownSince
    {
        get
        {
            lock (_stateLock)
            {
                return _up ? null : _downSince;
            }
        }
    }

    /// <summary>Why Redis is considered down, for <c>/readyz</c>.</summary>
    public string? DownReason
    {
        get
        {
            lock (_stateLock)
            {
                return _up ? null : _downReason;
            }
        }
    }

    /// <summary>The current outage in words (<c>Redis redis://… does not answer (reason) since …</c>), read at once; null while up.</summary>
    public string? Outage
    {
        get
        {
            lock (_stateLock)
            {
                return _up ? null : string.Create(CultureInfo.InvariantCulture, $"Redis {_options.Url} does not answer ({_downReason}) since {_downSince:yyyy-MM-ddTHH:mm:ssZ}");
            }
        }
    }

    /// <summary>Replicas with a fresh heartbeat, this one included; the last count while Redis is down (at least 1).</summary>
    public int Replicas => Volatile.Read(ref _replicas);

    /// <summary>The database, or null before the first connection attempt finished; operations on it fail fast while disconnected.</summary>
    public IDatabase? Database => _connection?.GetDatabase();

    /// <summary>Pub/sub, or null before the first connection attempt finished.</summary>
    public ISubscriber? Subscriber => _connection?.GetSubscriber();

    /// <summary>The keys matching <paramref name="pattern"/> (SCAN, a page at a time, each bounded by <c>redis.timeout</c>); none before the first connection attempt finished.</summary>
    public async IAsyncEnumerable<RedisKey> KeysAsync(string pattern)
    {
        if (_connection is not { } connection)
        {
            yield break;
        }

        await foreach (var key in connection.GetServers()[0].KeysAsync(_options.Database, pattern, pageSize: 1000))
        {
            yield return key;
        }
    }

    /// <summary>Counts a failed operation (for the metric); callers log their own incident once.</summary>
    public void Failed() => _failures.Add(1);

    /// <summary>Starts connecting and probing in the background; never waits for Redis.</summary>
    public void Start()
    {
        lock (_stateLock)
        {
            _downSince = _time.GetUtcNow();
            _downReason = "not connected yet";
        }

        _loop = Task.Run(() => RunAsync(_stopping.Token));
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            _connection = await ConnectionMultiplexer.ConnectAsync(_options.ToConfiguration("auditgw-" + Node));
        }
        catch (Exception e) when (e is RedisException or IOException or System.Net.Sockets.SocketException or ArgumentException)
        {
            Log.CannotConnect(_logger, _options.Url!, e.Message);
            return;
        }

        // A connection the client re-establishes is probed at once, not at the next tick: the parts that
        // catch up on Restored start sooner.
        _connection.ConnectionRestored += (_, _) => Volatile.Read(ref _probeNow).TrySetResult();
        while (!stopping.IsCancellationRequested)
        {
            await ProbeAsync();
            var wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _probeNow, wake);
            await Task.WhenAny(wake.Task, Task.Delay(ProbeInterval, _time, stopping));
        }
    }

    /// <summary>
    /// One heartbeat. An outage begins at the second failure in a row (one slow answer on a loaded machine is
    /// not an outage), or at once when the connection itself is gone.
    /// </summary>
    private async Task ProbeAsync()
    {
        var connection = _connection!;
        var database = connection.GetDatabase();
        var now = _time.GetUtcNow();
        try
        {
            var nowMs = now.ToUnixTimeMilliseconds();
            var batch = database.CreateBatch();
            var added = batch.SortedSetAddAsync(NodesKey, Node, nowMs);
            var trimmed = batch.SortedSetRemoveRangeByScoreAsync(NodesKey, double.NegativeInfinity, nowMs - HeartbeatLifetime.TotalMilliseconds);
            var counted = batch.SortedSetLengthAsync(NodesKey, nowMs - HeartbeatLifetime.TotalMilliseconds, double.PositiveInfinity);
            batch.Execute();
            await Task.WhenAll(added, trimmed, counted);
            Volatile.Write(ref _replicas, (int)Math.Max(1, await counted));
            _failedProbes = 0;
            Up(now);
        }
        catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            // Any failure counts: the loop must outlive whatever the client throws.
            _failures.Add(1);
            if (++_failedProbes >= 2 || !connection.IsConnected)
            {
                Down(now, RedisFailure.Describe(e, _options.Timeout));
            }
        }
    }

    private void Up(DateTimeOffset now)
    {
        DateTimeOffset since;
        string reason;
        bool wasOutage;
        lock (_stateLock)
        {
            if (_up)
            {
                return;
            }

            _up = true;
            wasOutage = _outageReported;
            _outageReported = false;
            since = _downSince ?? now;
            reason = _downReason ?? "";
        }

        if (wasOutage)
        {
            Log.Restored(_logger, _options.Url!, (now - since).TotalSeconds);
            Record(new LifecycleBody { Event = LifecycleEvent.RedisRestored, Redis = new RedisOutage { Since = since, Until = now, Reason = reason } }, now);
        }
        else
        {
            Log.Connected(_logger, _options.Url!, Replicas);
        }

        ThreadPool.UnsafeQueueUserWorkItem(static link => link.Restored?.Invoke(), this, preferLocal: false);
    }

    /// <summary>A failed probe: the first after a healthy spell (or the first at all) begins an outage, reported once.</summary>
    private void Down(DateTimeOffset now, string reason)
    {
        DateTimeOffset since;
        lock (_stateLock)
        {
            if (_up)
            {
                _up = false;
                _downSince = now;
            }
            else if (_outageReported)
            {
                return;
            }

            _outageReported = true;
            _downReason = reason;
            since = _downSince ?? now;
        }

        Log.Lost(_logger, _options.Url!, reason, Replicas);
        Record(new LifecycleBody { Event = LifecycleEvent.RedisDown, Redis = new RedisOutage { Since = since, Reason = reason } }, now);
    }

    private void Record(LifecycleBody body, DateTimeOffset at)
    {
        var pending = _log.EnqueueAsync(new AuditEntry(at, body), CancellationToken.None);
        if (!pending.IsCompletedSuccessfully)
        {
            _ = pending.AsTask();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        _meter.Dispose();
        _stopping.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Redis {Url}: connected; {Replicas} replica(s) share it")]
        public static partial void Connected(ILogger logger, string url, int replicas);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Redis {Url} is unreachable ({Reason}): serving on local state (rate limits at limit ÷ {Replicas}, blocks local) until it answers again")]
        public static partial void Lost(ILogger logger, string url, string reason, int replicas);

        [LoggerMessage(Level = LogLevel.Information, Message = "Redis {Url} answers again after {Seconds:0.0} s: catching up blocks, limits and attribution")]
        public static partial void Restored(ILogger logger, string url, double seconds);

        [LoggerMessage(Level = LogLevel.Error, Message = "Redis {Url}: cannot set up the connection: {Reason}; serving as a single node")]
        public static partial void CannotConnect(ILogger logger, string url, string reason);
    }
}
