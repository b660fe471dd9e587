using System.Text.Json;
using System.Text.Json.Nodes;
using AuditGateway.Kubernetes.Client;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Kubernetes.Informers;

internal sealed record InformerOptions
{
    public int PageSize { get; init; } = 500;

    /// <summary>No event or bookmark for this long restarts the watch.</summary>
    public TimeSpan WatchdogTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Server-side watch timeout, randomised in [min, 2×min] as client-go does.</summary>
    public TimeSpan MinWatchTimeout { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>What an informer hands on: a batch of changes, whether a list (not a watch event) found them, and whether its first full list is now delivered.</summary>
internal sealed record InformerUpdate(ResourceInformer Informer, IReadOnlyList<ResourceChange> Changes, bool Listed, bool Synced);

/// <summary>
/// Keeps a local copy of one resource type: paged list → watch from the list's resourceVersion
/// with bookmarks → on 410/Expired (an ERROR event in a 200 stream, or an HTTP 410) relist and emit
/// deletes for objects that vanished → on failures reconnect with exponential backoff and jitter →
/// a watchdog restarts a watch that has been silent too long. Relists after an expiry wait the
/// same backoff as reconnects, so a server that keeps answering 410 is not listed in a hot loop;
/// the backoff resets only once a watch has delivered something.
/// </summary>
internal sealed partial class ResourceInformer(
    KubeApiClient client,
    KubeResourceType type,
    string? fieldSelector,
    InformerOptions options,
    TimeProvider time,
    ILogger logger,
    Func<InformerUpdate, CancellationToken, ValueTask> deliver)
{
    private readonly Dictionary<ObjectKey, KubeResource> _cache = [];
    private volatile bool _synced;
    private volatile string? _resourceVersion;
    private bool _watchDelivered;
    private int _lists;
    private int _watches;

    public KubeResourceType Type => type;

    /// <summary>True once the first full list has been delivered.</summary>
    public bool HasSynced => _synced;

    /// <summary>The resume point: the last list's, event's or bookmark's resourceVersion.</summary>
    public string? ResourceVersion => _resourceVersion;

    public int ListCount => Volatile.Read(ref _lists);
    public int WatchCount => Volatile.Read(ref _watches);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var needList = true;
        var backoff = options.InitialBackoff;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (needList)
                {
                    await ListAsync(cancellationToken);
                    needList = false;
                }

                switch (await WatchAsync(cancellationToken))
                {
                    case WatchEnd.Events or WatchEnd.Watchdog:
                        backoff = options.InitialBackoff;
                        break;
                    default:
                        // A stream that ends without a single event must not become a hot loop.
                        backoff = await DelayAsync(backoff, cancellationToken);
                        break;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (KubeApiException e) when (e.IsExpired)
            {
                // A watch that delivered events before expiring was healthy: start the backoff afresh.
                if (_watchDelivered)
                {
                    backoff = options.InitialBackoff;
                }

                LogExpired(logger, type.Plural, _resourceVersion, backoff.TotalMilliseconds, e.Message);
                needList = true;
                backoff = await DelayAsync(backoff, cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or KubeApiException or JsonException or TimeoutException
                or System.Security.Authentication.AuthenticationException or OperationCanceledException or KubeConfigException)
            {
                LogRetrying(logger, type.Plural, backoff.TotalMilliseconds, e.Message);
                backoff = await DelayAsync(backoff, cancellationToken);
            }
        }
    }

    /// <summary>Waits a jittered <paramref name="backoff"/> (in [backoff/2, backoff]) and returns the next, doubled up to the cap.</summary>
    private async Task<TimeSpan> DelayAsync(TimeSpan backoff, CancellationToken cancellationToken)
    {
        var delay = backoff / 2 + backoff / 2 * Random.Shared.NextDouble();
        await Task.Delay(delay, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return TimeSpan.FromTicks(Math.Min(options.MaxBackoff.Ticks, backoff.Ticks * 2));
    }

    private enum WatchEnd
    {
        Events,
        Empty,
        Watchdog,
    }

    /// <summary>Lists every page, replaces the cache and delivers the difference (with deletes for vanished objects).</summary>
    private async Task ListAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _lists);
        var fresh = new Dictionary<ObjectKey, KubeResource>();
        string? continueToken = null;
        string? rv;
        do
        {
            var page = await client.ListAsync(type, null, new ListOptions(options.PageSize, continueToken, FieldSelector: fieldSelector), cancellationToken);
            foreach (var item in page.Items)
            {
                if (Read(item) is { } resource)
                {
                    fresh[resource.Key] = resource;
                }
            }

            rv = page.ResourceVersion;
            continueToken = page.Continue;
        }
        while (continueToken is not null);

        var changes = new List<ResourceChange>();
        foreach (var (key, old) in _cache)
        {
            if (!fresh.ContainsKey(key))
            {
                changes.Add(new ResourceChange(key, old, null));
            }
        }

        foreach (var (key, resource) in fresh)
        {
            _cache.TryGetValue(key, out var old);
            if (old is null || old.Object.Metadata?.ResourceVersion != resource.Object.Metadata?.ResourceVersion)
            {
                changes.Add(new ResourceChange(key, old, resource));
            }
        }

        _cache.Clear();
        foreach (var (key, resource) in fresh)
        {
            _cache[key] = resource;
        }

        _resourceVersion = rv;
        var first = !_synced;
        _synced = true;
        LogListed(logger, type.Plural, fresh.Count, rv, changes.Count);
        await deliver(new InformerUpdate(this, changes, Listed: true, first), cancellationToken);
    }

    /// <summary>One watch, until the stream ends or the watchdog fires.</summary>
    private async Task<WatchEnd> WatchAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _watches);
        using var watchCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var silent = 0;
        using var watchdog = time.CreateTimer(_ =>
        {
            Volatile.Write(ref silent, 1);
            watchCts.Cancel();
        }, null, options.WatchdogTimeout, Timeout.InfiniteTimeSpan);

        var timeoutSeconds = (int)(options.MinWatchTimeout.TotalSeconds * (1 + Random.Shared.NextDouble()));
        var any = false;
        _watchDelivered = false;
        try
        {
            var watchOptions = new WatchOptions(_resourceVersion ?? "", true, timeoutSeconds, fieldSelector);
            await foreach (var e in client.WatchAsync(type, null, watchOptions, watchCts.Token))
            {
                watchdog.Change(options.WatchdogTimeout, Timeout.InfiniteTimeSpan);
                any = true;
                if (e.Type == WatchEventType.Error)
                {
                    var code = e.Status?.Code ?? 500;
                    throw new KubeApiException(code, e.Status, $"watch {type.Plural}: ERROR event {code} {e.Status?.Reason}: {e.Status?.Message}");
                }

                _watchDelivered = true;
                var rv = Rv(e.Object);
                if (e.Type != WatchEventType.Bookmark && Apply(e) is { } change)
                {
                    await deliver(new InformerUpdate(this, [change], Listed: false, Synced: false), cancellationToken);
                }

                if (rv is not null)
                {
                    _resourceVersion = rv;
                }
            }
        }
        catch (OperationCanceledException) when (Volatile.Read(ref silent) == 1 && !cancellationToken.IsCancellationRequested)
        {
            LogWatchdog(logger, type.Plural, options.WatchdogTimeout.TotalSeconds);
            return WatchEnd.Watchdog;
        }

        return any ? WatchEnd.Events : WatchEnd.Empty;
    }

    private ResourceChange? Apply(WatchEvent e)
    {
        if (Read(e.Object) is not { } resource)
        {
            return null;
        }

        _cache.TryGetValue(resource.Key, out var old);
        if (e.Type == WatchEventType.Deleted)
        {
            return _cache.Remove(resource.Key) ? new ResourceChange(resource.Key, old, null) : null;
        }

        if (old is not null && old.Object.Metadata?.ResourceVersion == resource.Object.Metadata?.ResourceVersion)
        {
            return null;
        }

        _cache[resource.Key] = resource;
        return new ResourceChange(resource.Key, old, resource);
    }

    private KubeResource? Read(JsonObject obj)
    {
        try
        {
            return ResourceReader.TryRead(obj, null, out var resource) ? resource : null;
        }
        catch (ResourceFormatException e)
        {
            LogUnreadable(logger, type.Plural, e.Message);
            return null;
        }
    }

    private static string? Rv(JsonObject obj) =>
        obj["metadata"]?["resourceVersion"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Listed {Resource}: {Count} objects at resourceVersion {ResourceVersion}, {Changes} changes")]
    private static partial void LogListed(ILogger logger, string resource, int count, string? resourceVersion, int changes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Watch of {Resource} from resourceVersion {ResourceVersion} expired ({Reason}); relisting within {BackoffMs:0} ms")]
    private static partial void LogExpired(ILogger logger, string resource, string? resourceVersion, double backoffMs, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "List/watch of {Resource} failed; retrying within {BackoffMs:0} ms: {Reason}")]
    private static partial void LogRetrying(ILogger logger, string resource, double backoffMs, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watch of {Resource} silent for {Seconds} s; restarting it")]
    private static partial void LogWatchdog(ILogger logger, string resource, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignoring an unreadable {Resource} object: {Reason}")]
    private static partial void LogUnreadable(ILogger logger, string resource, string reason);
}
