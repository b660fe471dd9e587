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
/// same actor. Reports are published on <c>auditgw:attribution</c>; the set
/// <c>auditgw:attribution:seen</c> tells a replica that starts later that admission is in use, so its
/// watch waits briefly for a report from elsewhere. A report that cannot be published is logged once
/// per outage; the other replicas then fall back to <c>managedFields</c> for that change.
/// </summary>
internal sealed partial class SharedAttribution : IDisposable
{
    private static readonly RedisChannel Channel = RedisChannel.Literal("auditgw:attribution");
    private static readonly RedisKey SeenKey = "auditgw:attribution:seen";

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
        link.Restored += () => _ = ConnectAsync();
    }

    public void Dispose() => _store.Share = null;

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
            Log.PublishFailed(_logger, e.Message);
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
            var published = batch.PublishAsync(Channel, JsonSerializer.Serialize(message, ReplicaJsonContext.Default.AttributionMessage));
            batch.Execute();
            await Task.WhenAll(seen, published);
            Volatile.Write(ref _failing, 0);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _link.Failed();
            Failed(e.Message);
        }
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
        AttributionMessage? message;
        try
        {
            message = JsonSerializer.Deserialize((string?)value ?? "", ReplicaJsonContext.Default.AttributionMessage);
        }
        catch (JsonException)
        {
            message = null;
        }

        if (message is null || message.Actor is null || string.IsNullOrEmpty(message.Uid) || string.IsNullOrEmpty(message.Step))
        {
            Log.BadMessage(_logger, value.Length());
            return;
        }

        if (message.Node == _link.Node)
        {
            return;
        }

        var diff = message.Diff is null ? null : JsonNode.Parse(message.Diff) as JsonArray;
        _store.Import(new AttributionKey(message.Uid, message.Step, message.ResourceVersion), new ObservedChange(message.Actor, message.Source, message.At) { Diff = diff });
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot share who made a config change with the other replicas ({Reason}): their config entries fall back to managedFields until Redis answers (logged once per outage)")]
        public static partial void PublishFailed(ILogger logger, string reason);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored a malformed message on auditgw:attribution ({Length} bytes)")]
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
