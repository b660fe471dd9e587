using System.Text.Json;
using System.Text.Json.Nodes;
using AuditGateway.Audit.Entries;
using AuditGateway.ControlPlane.Attribution;
using StackExchange.Redis;

namespace AuditGateway.Redis;

/// <summary>
/// Shares what the admission and audit webhooks learn (user, groups, source IPs, user agent, tool) with
/// every replica (docs/replicas.md): the API server calls one replica's webhook, but every replica's
/// watch sees the change, and each writes its own <c>config</c> entry; with this, all of them name the
/// same actor. Each report is stored under <c>auditgw:attribution:report:&lt;uid&gt;:&lt;step&gt;:&lt;resourceVersion&gt;</c>
/// for <see cref="AttributionStore.MaxAge"/> and published on <c>auditgw:attribution</c> before the webhook
/// answers: a watch that delivers a change with no report here reads the stored one (an admission report is
/// always there by then, even for the first change after every replica started), and a late one (the audit
/// webhook's) arrives by the channel while the watch waits. The set <c>auditgw:attribution:seen</c> tells a
/// replica that starts later that admission is in use. A report that cannot be shared or read is logged once
/// per outage; the other replicas then fall back to <c>managedFields</c> for that change.
/// </summary>
internal sealed partial class SharedAttribution : IDisposable
{
    private static readonly RedisChannel Channel = RedisChannel.Literal("auditgw:attribution");
    private static readonly RedisKey SeenKey = "auditgw:attribution:seen";
    private const string ReportKeyPrefix = "auditgw:attribution:report:";

    private readonly AttributionStore _store;
    private readonly RedisLink _link;
    private readonly ILogger<SharedAttribution> _logger;
    private int _subscribed;
    private int _failing;

    public SharedAttribution(AttributionStore store, RedisLink link, ILogger<SharedAttribution> logger)
    {
        _store = store;
        _link = link;
        _logger = logger;
        store.Share = PublishAsync;
        store.Fetch = FetchAsync;
        link.Restored += () => _ = ConnectAsync();
    }

    public void Dispose()
    {
        _store.Share = null;
        _store.Fetch = null;
    }

    private static RedisKey ReportKeyOf(AttributionKey key) => $"{ReportKeyPrefix}{key.Uid}:{key.Step}:{key.ResourceVersion}";

    private async Task ConnectAsync()
    {
        try
        {
            if (Interlocked.Exchange(ref _subscribed, 1) == 0)
            {
                await _link.Subscriber!.SubscribeAsync(Channel, (_, message) => OnPublished(message));
            }

            if (await _link.Database!.SetContainsAsync(SeenKey, nameof(ActorSource.Admission)))
            {
                _store.MarkAdmissionSeen();
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Volatile.Write(ref _subscribed, 0);
            _link.Failed();
            Log.PublishFailed(_logger, RedisFailure.Describe(e, _link.Options.Timeout));
        }
    }

    private async Task PublishAsync(AttributionKey key, ObservedChange change)
    {
        if (_link.Database is not { } database || !_link.IsUp)
        {
            Failed("Redis is down");
            return;
        }

        var message = new AttributionMessage
        {
            Node = _link.Node,
            Uid = key.Uid,
            Step = key.Step,
            ResourceVersion = key.ResourceVersion,
            Actor = change.Actor,
            Source = change.Source,
            At = change.At,
            Diff = change.Diff?.ToJsonString(),
        };
        try
        {
            var batch = database.CreateBatch();
            var seen = change.Actor.Via == ActorSource.Admission ? batch.SetAddAsync(SeenKey, nameof(ActorSource.Admission)) : Task.FromResult(true);
            var json = JsonSerializer.Serialize(message, ReplicaJsonContext.Default.AttributionMessage);
            var stored = batch.StringSetAsync(ReportKeyOf(key), json, AttributionStore.MaxAge);
            var published = batch.PublishAsync(Channel, json);
            batch.Execute();
            await Task.WhenAll(seen, stored, published);
            Volatile.Write(ref _failing, 0);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _link.Failed();
            Failed(RedisFailure.Describe(e, _link.Options.Timeout));
        }
    }

    private async Task<ObservedChange?> FetchAsync(IReadOnlyList<AttributionKey> keys)
    {
        if (keys.Count == 0 || _link.Database is not { } database || !_link.IsUp)
        {
            return null;
        }

        RedisValue[] values;
        try
        {
            values = await database.StringGetAsync([.. keys.Select(ReportKeyOf)]);
            Volatile.Write(ref _failing, 0);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _link.Failed();
            Failed(RedisFailure.Describe(e, _link.Options.Timeout));
            return null;
        }

        for (var i = 0; i < values.Length; i++)
        {
            if (values[i].HasValue && Read(values[i]) is { } report)
            {
                _store.Import(keys[i], report.Change);
                return report.Change;
            }
        }

        return null;
    }

    private void Failed(string reason)
    {
        if (Interlocked.Exchange(ref _failing, 1) == 0)
        {
            Log.PublishFailed(_logger, reason);
        }
    }

    private void OnPublished(RedisValue value)
    {
        if (Read(value) is { } report && report.Node != _link.Node)
        {
            _store.Import(report.Key, report.Change);
        }
    }

    /// <summary>A shared report, or null (logged) when it is not one.</summary>
    private SharedReport? Read(RedisValue value)
    {
        try
        {
            if (JsonSerializer.Deserialize((string?)value ?? "", ReplicaJsonContext.Default.AttributionMessage) is { Actor: { } actor, Uid: { Length: > 0 } uid, Step: { Length: > 0 } step } message)
            {
                var diff = message.Diff is null ? null : JsonNode.Parse(message.Diff) as JsonArray;
                return new SharedReport(message.Node, new AttributionKey(uid, step, message.ResourceVersion), new ObservedChange(actor, message.Source, message.At) { Diff = diff });
            }
        }
        catch (JsonException)
        {
            // Not a report: logged below, like one with a field missing.
        }

        Log.BadMessage(_logger, value.Length());
        return null;
    }

    private sealed record SharedReport(string? Node, AttributionKey Key, ObservedChange Change);

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot share who made a config change with the other replicas, or read what they shared ({Reason}): config entries fall back to managedFields until Redis answers (logged once per outage)")]
        public static partial void PublishFailed(ILogger logger, string reason);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored a malformed attribution report from Redis ({Length} bytes)")]
        public static partial void BadMessage(ILogger logger, long length);
    }
}

/// <summary>One webhook report as replicas share it.</summary>
internal sealed record AttributionMessage
{
    public string? Node { get; init; }

    public string? Uid { get; init; }

    public string? Step { get; init; }

    public string? ResourceVersion { get; init; }

    public ChangeActor? Actor { get; init; }

    public ChangeSource Source { get; init; }

    public DateTimeOffset At { get; init; }

    /// <summary>The admission report's JSON Patch, as text.</summary>
    public string? Diff { get; init; }
}
