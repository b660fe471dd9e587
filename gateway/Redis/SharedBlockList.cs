using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Text.Json;
using AuditGateway.Policy;
using StackExchange.Redis;

namespace AuditGateway.Redis;

/// <summary>
/// The block list every replica shares (docs/replicas.md). Requests are checked against this node's
/// own copy (<see cref="InMemoryBlockList"/>): no Redis on the request path. A block or unblock made here
/// is written to the hash <c>auditgw:blocks</c> (one field per client, the newest change wins) and
/// published on <c>auditgw:blocks:changes</c> in one script, which also bumps a version counter. Other
/// replicas apply what is published within milliseconds; the hash is the truth they reconcile from when
/// Redis answers again, when a published version is skipped, and whenever the version moved without
/// them (checked every <see cref="VersionCheckInterval"/>). A change that cannot be written waits here
/// and is written first when Redis is back, unless a newer one for the same client got there first.
/// Expiry is every node's own; evictions stay local.
/// </summary>
internal sealed partial class SharedBlockList : IBlockList, IDisposable
{
    public static readonly TimeSpan VersionCheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>How often the hash is read in full even when nothing seems to have changed.</summary>
    public static readonly TimeSpan FullPassInterval = TimeSpan.FromMinutes(1);

    private static readonly RedisKey BlocksKey = "auditgw:blocks";
    private static readonly RedisKey VersionKey = "auditgw:blocks:version";
    private const string ChangesChannelName = "auditgw:blocks:changes";
    private static readonly RedisChannel ChangesChannel = RedisChannel.Literal(ChangesChannelName);

    /// <summary>Writes a record unless the stored one for the client is newer; bumps the version and publishes. Returns the version, or 0 when not written.</summary>
    private static readonly LuaScript PutScript = LuaScript.Prepare("""
        local current = redis.call('HGET', @blocks, @field)
        if current then
          local at = tonumber(string.match(current, '^(%d+)|'))
          if at and at > tonumber(@at) then return 0 end
        end
        redis.call('HSET', @blocks, @field, @record)
        local version = redis.call('INCR', @version)
        redis.call('PUBLISH', @channel, version .. ' ' .. @record)
        return version
        """);

    /// <summary>Removes a field only if it still holds the record read (an expired block nobody changed since).</summary>
    private static readonly LuaScript RemoveIfSameScript = LuaScript.Prepare("""
        if redis.call('HGET', @blocks, @field) == @record then return redis.call('HDEL', @blocks, @field) end
        return 0
        """);

    [ThreadStatic]
    private static BlockRecord? t_applying;

    private readonly InMemoryBlockList _local;
    private readonly RedisLink _link;
    private readonly TimeProvider _time;
    private readonly ILogger<SharedBlockList> _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, BlockRecord> _unwritten = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _reconciling = new(1, 1);
    private readonly ITimer _versionCheck;
    private long _seenVersion = -1;
    private long _lastReconciled;
    private int _subscribed;
    private bool _writeFailing;

    public SharedBlockList(InMemoryBlockList local, RedisLink link, TimeProvider time, ILogger<SharedBlockList> logger)
    {
        _local = local;
        _link = link;
        _time = time;
        _logger = logger;
        _local.Changed += OnLocalChanged;
        _link.Restored += () => _ = CatchUpAsync("Redis answers again");
        _versionCheck = time.CreateTimer(static state => _ = ((SharedBlockList)state!).CheckVersionAsync(), this, VersionCheckInterval, VersionCheckInterval);
    }

    public event EventHandler<BlockChange>? Changed;

    public int Count => _local.Count;

    /// <summary>Changes made here that Redis has not taken yet.</summary>
    public int Unwritten
    {
        get
        {
            lock (_lock)
            {
                return _unwritten.Count;
            }
        }
    }

    public bool IsBlocked(IPAddress address, [NotNullWhen(true)] out BlockEntry? entry) => _local.IsBlocked(address, out entry);

    public BlockEntry Block(IPAddress address, TimeSpan duration, string detector, string evidence)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        ArgumentException.ThrowIfNullOrEmpty(detector);
        var now = _time.GetUtcNow();
        return _local.Add(new BlockEntry(address, now, now + duration, detector, evidence ?? "") { Node = _link.Node });
    }

    public bool Unblock(IPAddress address, string by) => _local.Unblock(address, by);

    public IReadOnlyList<BlockEntry> List() => _local.List();

    public void Dispose()
    {
        _versionCheck.Dispose();
        _local.Changed -= OnLocalChanged;
    }

    /// <summary>Every change of the local copy: re-raised with the node it came from; one made here is also written to Redis.</summary>
    private void OnLocalChanged(object? sender, BlockChange change)
    {
        var remote = t_applying;
        if (remote is not null)
        {
            Changed?.Invoke(this, change with { Node = remote.Node, Entry = change.Entry with { Node = change.Entry.Node ?? remote.Node } });
            return;
        }

        var local = change with { Node = _link.Node, Entry = change.Entry with { Node = change.Entry.Node ?? _link.Node } };
        Changed?.Invoke(this, local);
        if (change.Kind == BlockChangeKind.Blocked || change.By is not ("expired" or "evicted"))
        {
            _ = WriteAsync(BlockRecord.From(local));
        }
    }

    private async Task WriteAsync(BlockRecord record)
    {
        if (!await TryPutAsync(record))
        {
            lock (_lock)
            {
                if (!_unwritten.TryGetValue(record.Address, out var older) || older.AtMs <= record.AtMs)
                {
                    _unwritten[record.Address] = record;
                }
            }
        }
    }

    /// <summary>Writes one record; false when Redis did not take it (down or too slow), so it must wait.</summary>
    private async Task<bool> TryPutAsync(BlockRecord record)
    {
        if (_link.Database is not { } database || !_link.IsUp)
        {
            return false;
        }

        try
        {
            var text = record.ToText();
            var version = (long)await PutScript.EvaluateAsync(database, new { blocks = BlocksKey, version = VersionKey, channel = ChangesChannelName, field = record.Address, at = record.AtMs, record = text });
            if (version > 0)
            {
                Advance(version);
            }

            _writeFailing = false;
            return true;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _link.Failed();
            if (!_writeFailing)
            {
                _writeFailing = true;
                Log.WriteFailed(_logger, record.Address, e.Message);
            }

            return false;
        }
    }

    /// <summary>Subscribes (once), writes what waited, then reconciles with the hash.</summary>
    private async Task CatchUpAsync(string why)
    {
        lock (_lock)
        {
            // Redis may have restarted with its counter at zero: the next version read is the new start.
            _seenVersion = -1;
        }

        if (Interlocked.Exchange(ref _subscribed, 1) == 0)
        {
            try
            {
                await _link.Subscriber!.SubscribeAsync(ChangesChannel, (_, message) => OnPublished(message));
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                Volatile.Write(ref _subscribed, 0);
                _link.Failed();
                Log.CatchUpFailed(_logger, e.Message);
                return;
            }
        }

        await ReconcileAsync(why);
    }

    private void OnPublished(RedisValue message)
    {
        var text = (string?)message ?? "";
        var space = text.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0 || !long.TryParse(text.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var version) || BlockRecord.Parse(text[(space + 1)..]) is not { } record)
        {
            Log.BadMessage(_logger, text.Length);
            return;
        }

        if (record.Node != _link.Node)
        {
            Apply(record);
        }

        Advance(version);
    }

    /// <summary>Notes a version seen in order; a skipped one means a message was missed: reconcile.</summary>
    private void Advance(long version)
    {
        long seen;
        lock (_lock)
        {
            seen = _seenVersion;
            if (seen < 0 || version == seen + 1)
            {
                _seenVersion = Math.Max(seen, version);
                return;
            }

            if (version <= seen)
            {
                return;
            }
        }

        _ = ReconcileAsync($"version {version} followed {seen}");
    }

    private async Task CheckVersionAsync()
    {
        if (Volatile.Read(ref _subscribed) == 0 || !_link.IsUp || _link.Database is not { } database)
        {
            return;
        }

        try
        {
            var version = (long?)await database.StringGetAsync(VersionKey) ?? 0;
            bool behind;
            lock (_lock)
            {
                behind = version != _seenVersion || _unwritten.Count > 0;
            }

            // A full pass now and then also removes expired records from the hash, so it does not grow with old blocks.
            if (behind || _time.GetElapsedTime(Volatile.Read(ref _lastReconciled)) >= FullPassInterval)
            {
                await ReconcileAsync(behind ? "the version moved" : "periodic pass");
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _link.Failed();
        }
    }

    /// <summary>
    /// Brings the two sides together: changes that waited here are written (unless Redis holds a newer
    /// one), then every record in the hash is applied here, and blocks this node holds that the hash
    /// does not know are written to it. Expired records are removed from the hash.
    /// </summary>
    private async Task ReconcileAsync(string why)
    {
        if (!await _reconciling.WaitAsync(0))
        {
            return;
        }

        try
        {
            if (_link.Database is not { } database || !_link.IsUp)
            {
                return;
            }

            BlockRecord[] waiting;
            lock (_lock)
            {
                waiting = [.. _unwritten.Values];
            }

            foreach (var record in waiting)
            {
                if (!await TryPutAsync(record))
                {
                    return;
                }

                lock (_lock)
                {
                    if (_unwritten.TryGetValue(record.Address, out var current) && current == record)
                    {
                        _unwritten.Remove(record.Address);
                    }
                }
            }

            var version = (long?)await database.StringGetAsync(VersionKey) ?? 0;
            var fields = await database.HashGetAllAsync(BlocksKey);
            var now = _time.GetUtcNow();
            var known = new HashSet<string>(StringComparer.Ordinal);
            var applied = 0;
            foreach (var field in fields)
            {
                var text = (string?)field.Value;
                if (BlockRecord.Parse(text) is not { } record)
                {
                    continue;
                }

                known.Add(record.Address);
                if (record.ExpiresAt <= now)
                {
                    await RemoveIfSameScript.EvaluateAsync(database, new { blocks = BlocksKey, field = record.Address, record = text });
                    continue;
                }

                if (record.Node != _link.Node && Apply(record))
                {
                    applied++;
                }
            }

            foreach (var entry in _local.List())
            {
                if (!known.Contains(entry.Address.ToString()))
                {
                    var record = BlockRecord.From(new BlockChange(BlockChangeKind.Blocked, entry, entry.Detector, entry.BlockedAt) { Node = entry.Node ?? _link.Node });
                    if (!await TryPutAsync(record))
                    {
                        return;
                    }
                }
            }

            lock (_lock)
            {
                _seenVersion = version;
            }

            Volatile.Write(ref _lastReconciled, _time.GetTimestamp());

            if (applied > 0)
            {
                Log.Reconciled(_logger, applied, why);
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _link.Failed();
            Log.CatchUpFailed(_logger, e.Message);
        }
        finally
        {
            _reconciling.Release();
        }
    }

    /// <summary>Applies another replica's change here; true when it changed something.</summary>
    private bool Apply(BlockRecord record)
    {
        if (!IPAddress.TryParse(record.Address, out var address))
        {
            return false;
        }

        t_applying = record;
        try
        {
            if (record.State == BlockRecord.Blocked)
            {
                if (_local.IsBlocked(address, out var existing) && existing.ExpiresAt >= record.ExpiresAt)
                {
                    return false;
                }

                var added = _local.Add(new BlockEntry(address, record.BlockedAt, record.ExpiresAt, record.Detector, record.Evidence) { Node = record.Node });
                return added.ExpiresAt == record.ExpiresAt && added.Node == record.Node;
            }

            // An unblock removes only a block from before it: a newer one (made here meanwhile) stands.
            return _local.IsBlocked(address, out var current) && current.BlockedAt.ToUnixTimeMilliseconds() <= record.AtMs && _local.Unblock(address, record.By);
        }
        finally
        {
            t_applying = null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot share the block of {Client} through Redis ({Reason}): it is enforced here and shared when Redis answers (further failures are not logged until a write succeeds)")]
        public static partial void WriteFailed(ILogger logger, string client, string reason);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot catch up blocks with Redis ({Reason}); retried")]
        public static partial void CatchUpFailed(ILogger logger, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "Applied {Count} block change(s) from other replicas ({Why})")]
        public static partial void Reconciled(ILogger logger, int count, string why);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored a malformed message on auditgw:blocks:changes ({Length} characters)")]
        public static partial void BadMessage(ILogger logger, int length);
    }
}

/// <summary>
/// One client's latest block or unblock, as the hash <c>auditgw:blocks</c> holds it: <c>&lt;atMs&gt;|&lt;json&gt;</c>,
/// the time first so a script can compare it without parsing JSON.
/// </summary>
internal sealed record BlockRecord
{
    public const string Blocked = "blocked";
    public const string Unblocked = "unblocked";

    public required string State { get; init; }

    public required string Address { get; init; }

    /// <summary>When the change was made (Unix ms): the newest change of a client wins.</summary>
    public required long AtMs { get; init; }

    public required DateTimeOffset BlockedAt { get; init; }

    public required DateTimeOffset ExpiresAt { get; init; }

    public required string Detector { get; init; }

    public required string Evidence { get; init; }

    /// <summary>The node the change was made on (a block: the detecting node).</summary>
    public required string Node { get; init; }

    /// <summary>Who made it: the detector, or for an unblock the operator.</summary>
    public required string By { get; init; }

    public static BlockRecord From(BlockChange change) => new()
    {
        State = change.Kind == BlockChangeKind.Blocked ? Blocked : Unblocked,
        Address = change.Entry.Address.ToString(),
        AtMs = change.At.ToUnixTimeMilliseconds(),
        BlockedAt = change.Entry.BlockedAt,
        ExpiresAt = change.Entry.ExpiresAt,
        Detector = change.Entry.Detector,
        Evidence = change.Entry.Evidence,
        Node = change.Node ?? change.Entry.Node ?? "",
        By = change.By,
    };

    public string ToText() => AtMs.ToString(CultureInfo.InvariantCulture) + "|" + JsonSerializer.Serialize(this, ReplicaJsonContext.Default.BlockRecord);

    public static BlockRecord? Parse(string? text)
    {
        var bar = text?.IndexOf('|', StringComparison.Ordinal) ?? -1;
        if (bar <= 0)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(text.AsSpan(bar + 1), ReplicaJsonContext.Default.BlockRecord);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
