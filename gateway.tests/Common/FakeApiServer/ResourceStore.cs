using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace AuditGateway.Tests.Common.FakeApiServer;

internal readonly record struct StoreKey(ApiResource Resource, string Namespace, string Name);

/// <summary>One open watch: what it selects, and the JSON lines waiting to be written to it.</summary>
internal sealed class Watcher(ApiResource resource, string? ns, Selector? fields, Selector? labels, bool bookmarks) : IDisposable
{
    private readonly CancellationTokenSource _dropped = new();

    public ApiResource Resource { get; } = resource;
    public bool Bookmarks { get; } = bookmarks;
    public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    public CancellationToken Dropped => _dropped.Token;

    public bool Matches(ApiResource r, JsonObject obj) =>
        r == Resource
        && (ns is null || (string?)obj["metadata"]?["namespace"] == ns)
        && (fields?.Matches(obj) ?? true)
        && (labels?.Matches(obj) ?? true);

    public void Drop() => _dropped.Cancel();

    public void Dispose() => _dropped.Dispose();
}

internal sealed record ListPage(long ResourceVersion, IReadOnlyList<JsonObject> Items, string? Continue, long? Remaining);

/// <summary>
/// The objects, a global resourceVersion counter, a bounded event history for resuming watches,
/// and the open watches. Every write happens under one lock, so a watch sees events in RV order.
/// </summary>
internal sealed class ResourceStore(int historyLimit)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<StoreKey, JsonObject> _objects = [];
    private readonly Queue<(long Rv, ApiResource Resource, string Type, JsonObject Object)> _history = new();
    private readonly List<Watcher> _watchers = [];
    private readonly Dictionary<string, (long Rv, List<JsonObject> Items)> _snapshots = new(StringComparer.Ordinal);
    private long _rv = 100;
    private long _oldestResumable;

    public long ResourceVersion
    {
        get
        {
            lock (_gate)
            {
                return _rv;
            }
        }
    }

    public int WatchCount
    {
        get
        {
            lock (_gate)
            {
                return _watchers.Count;
            }
        }
    }

    public JsonObject? Get(StoreKey key)
    {
        lock (_gate)
        {
            return _objects.TryGetValue(key, out var obj) ? (JsonObject)obj.DeepClone() : null;
        }
    }

    /// <summary>
    /// Creates (<paramref name="expectExisting"/> false), replaces or deletes (<paramref name="next"/> null)
    /// an object, checking <paramref name="expectedRv"/> when given. Returns the stored object.
    /// </summary>
    public JsonObject Write(StoreKey key, JsonObject? next, bool expectExisting, string? expectedRv)
    {
        lock (_gate)
        {
            var exists = _objects.TryGetValue(key, out var current);
            if (!expectExisting && exists)
            {
                throw ApiError.AlreadyExists(key.Resource, key.Name);
            }

            if (expectExisting && !exists)
            {
                throw ApiError.NotFound(key.Resource, key.Name);
            }

            if (!string.IsNullOrEmpty(expectedRv) && expectedRv != (string?)current!["metadata"]?["resourceVersion"])
            {
                throw ApiError.Conflict(key.Resource, key.Name);
            }

            var stored = (JsonObject)(next ?? current!).DeepClone();
            var rv = ++_rv;
            ((JsonObject)stored["metadata"]!)["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
            string type;
            if (next is null)
            {
                _objects.Remove(key);
                type = "DELETED";
            }
            else
            {
                _objects[key] = stored;
                type = exists ? "MODIFIED" : "ADDED";
            }

            _history.Enqueue((rv, key.Resource, type, stored));
            while (_history.Count > historyLimit)
            {
                _oldestResumable = _history.Dequeue().Rv;
            }

            var line = EventLine(type, stored);
            foreach (var w in _watchers)
            {
                if (w.Matches(key.Resource, stored))
                {
                    w.Lines.Writer.TryWrite(line);
                }
            }

            return (JsonObject)stored.DeepClone();
        }
    }

    /// <summary>
    /// Registers a watch. <paramref name="rv"/> null or "0" sends ADDED for every matching object first;
    /// another RV replays the history after it, or returns the 410 message when it is too old.
    /// </summary>
    public string? StartWatch(Watcher watcher, string? rv)
    {
        lock (_gate)
        {
            if (string.IsNullOrEmpty(rv) || rv == "0")
            {
                foreach (var obj in Matching(watcher.Resource, _ => true).Where(o => watcher.Matches(watcher.Resource, o)))
                {
                    watcher.Lines.Writer.TryWrite(EventLine("ADDED", obj));
                }
            }
            else
            {
                if (!long.TryParse(rv, CultureInfo.InvariantCulture, out var from))
                {
                    throw ApiError.BadRequest($"invalid resource version \"{rv}\"");
                }

                if (from < _oldestResumable)
                {
                    return TooOld(from);
                }

                foreach (var e in _history.Where(e => e.Rv > from && watcher.Matches(e.Resource, e.Object)))
                {
                    watcher.Lines.Writer.TryWrite(EventLine(e.Type, e.Object));
                }
            }

            _watchers.Add(watcher);
            return null;
        }
    }

    public string TooOld(long from)
    {
        lock (_gate)
        {
            return $"too old resource version: {from} ({_oldestResumable})";
        }
    }

    public void StopWatch(Watcher watcher)
    {
        lock (_gate)
        {
            _watchers.Remove(watcher);
        }
    }

    public void DropWatches()
    {
        lock (_gate)
        {
            foreach (var w in _watchers)
            {
                w.Drop();
            }
        }
    }

    /// <summary>Sends every bookmark-enabled watch a BOOKMARK at the current RV.</summary>
    public void SendBookmarks()
    {
        lock (_gate)
        {
            var rv = _rv.ToString(CultureInfo.InvariantCulture);
            foreach (var w in _watchers.Where(w => w.Bookmarks))
            {
                var obj = new JsonObject
                {
                    ["kind"] = w.Resource.Kind,
                    ["apiVersion"] = w.Resource.GroupVersion,
                    ["metadata"] = new JsonObject { ["resourceVersion"] = rv },
                };
                w.Lines.Writer.TryWrite(EventLine("BOOKMARK", obj));
            }
        }
    }

    /// <summary>Forgets the history and list snapshots: every older RV or continue token becomes 410.</summary>
    public void Compact()
    {
        lock (_gate)
        {
            _history.Clear();
            _snapshots.Clear();
            _oldestResumable = _rv;
        }
    }

    public ListPage List(ApiResource r, string? ns, Selector? fields, Selector? labels, int limit, string? continueToken, string? rv)
    {
        lock (_gate)
        {
            long at;
            List<JsonObject> items;
            int offset = 0;
            string id;
            if (!string.IsNullOrEmpty(continueToken))
            {
                var parts = Encoding.UTF8.GetString(Convert.FromBase64String(continueToken)).Split('/');
                id = parts[0];
                offset = int.Parse(parts[1], CultureInfo.InvariantCulture);
                if (!_snapshots.TryGetValue(id, out var snapshot) || snapshot.Rv < _oldestResumable)
                {
                    throw ApiError.Expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.");
                }

                (at, items) = snapshot;
            }
            else
            {
                if (limit > 0 && !string.IsNullOrEmpty(rv) && rv != "0"
                    && long.TryParse(rv, CultureInfo.InvariantCulture, out var exact) && exact < _oldestResumable)
                {
                    throw ApiError.Expired("The resourceVersion for the provided list is too old.");
                }

                at = _rv;
                items = Matching(r, o => (ns is null || (string?)o["metadata"]?["namespace"] == ns)
                    && (fields?.Matches(o) ?? true) && (labels?.Matches(o) ?? true));
                id = Guid.NewGuid().ToString("N");
                if (limit > 0 && items.Count > limit)
                {
                    _snapshots[id] = (at, items);
                }
            }

            var end = limit > 0 ? Math.Min(items.Count, offset + limit) : items.Count;
            var page = items.GetRange(offset, end - offset).Select(o => (JsonObject)o.DeepClone()).ToList();
            var next = end < items.Count ? Convert.ToBase64String(Encoding.UTF8.GetBytes($"{id}/{end}")) : null;
            return new ListPage(at, page, next, next is null ? null : items.Count - end);
        }
    }

    private List<JsonObject> Matching(ApiResource r, Func<JsonObject, bool> predicate) =>
        [.. _objects.Where(kv => kv.Key.Resource == r && predicate(kv.Value))
            .OrderBy(kv => kv.Key.Namespace, StringComparer.Ordinal)
            .ThenBy(kv => kv.Key.Name, StringComparer.Ordinal)
            .Select(kv => kv.Value)];

    public static string EventLine(string type, JsonObject obj) =>
        new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString() + "\n";
}
