using AuditGateway.Audit.Entries;

namespace AuditGateway.ControlPlane.Attribution;

/// <summary>Who made one API request, as a webhook reported it, and the tool it came from.</summary>
internal sealed record ObservedChange(ChangeActor Actor, ChangeSource Source, DateTimeOffset At)
{
    /// <summary>For admission: the old→new JSON Patch the reviewed request would make.</summary>
    public System.Text.Json.Nodes.JsonArray? Diff { get; init; }
}

/// <summary>
/// What a webhook saw of a write, keyed so the watch event of the same write finds it:
/// admission knows the object's uid and, for UPDATE/DELETE, the old resourceVersion (CREATE: uid
/// only); the audit webhook knows the uid and the new resourceVersion from the response object.
/// </summary>
internal readonly record struct AttributionKey(string Uid, string Step, string? ResourceVersion)
{
    /// <summary>Admission of a CREATE: the object's uid (validating webhooks see it already set).</summary>
    public static AttributionKey Created(string uid) => new(uid, "create", null);

    /// <summary>Admission of an UPDATE or DELETE: the uid and the resourceVersion it replaces.</summary>
    public static AttributionKey Replacing(string uid, string operation, string? oldResourceVersion) => new(uid, operation, oldResourceVersion);

    /// <summary>Audit of a create/update/patch: the uid and the resourceVersion it produced.</summary>
    public static AttributionKey Produced(string uid, string? resourceVersion) => new(uid, "produced", resourceVersion);

    /// <summary>Audit of a delete: the uid.</summary>
    public static AttributionKey Deleted(string uid) => new(uid, "deleted", null);
}

/// <summary>
/// A bounded in-memory correlation store between the webhooks (admission, apiserver audit) and
/// the watch. The oldest entries are dropped beyond <see cref="Capacity"/>; entries older than
/// <see cref="MaxAge"/> are not returned. Thread-safe.
/// </summary>
internal sealed class AttributionStore(TimeProvider time, int capacity = 4096, bool expectAudit = false)
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(10);

    private readonly object _lock = new();
    private readonly Dictionary<AttributionKey, ObservedChange> _entries = [];
    private readonly Queue<AttributionKey> _order = new();
    private TaskCompletionSource _recorded = NewSignal();
    private volatile bool _admissionSeen;
    private volatile bool _auditSeen;

    public int Capacity => capacity;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The admission webhook has called at least once: Ingress writes are worth waiting for.</summary>
    public bool AdmissionSeen => _admissionSeen;

    /// <summary>
    /// The audit webhook is configured (<c>admin.auditWebhookToken</c>) or has delivered at least once:
    /// its events arrive after the write, so a watched change is worth waiting for.
    /// </summary>
    public bool AuditExpected => expectAudit || _auditSeen;

    /// <summary>
    /// Whether a watched change with no report yet is worth waiting for: audit events come after the write,
    /// and with replicas (docs/replicas.md) another replica's admission report may arrive after this replica's watch.
    /// </summary>
    public bool LateReportsExpected => AuditExpected || (Share is not null && _admissionSeen);

    /// <summary>
    /// With replicas: shares a report of this replica's webhooks with the others (<see cref="Redis.SharedAttribution"/>);
    /// it completes once shared or given up (bounded by <c>redis.timeout</c>) and never throws.
    /// </summary>
    public Func<AttributionKey, ObservedChange, Task>? Share { get; set; }

    /// <summary>
    /// With replicas: reads a report another replica's webhook shared, for a watched change this replica has
    /// none of (<see cref="Redis.SharedAttribution"/>); null when there is none or Redis does not answer
    /// (bounded by <c>redis.timeout</c>); never throws. A report found is kept here too.
    /// </summary>
    public Func<IReadOnlyList<AttributionKey>, Task<ObservedChange?>>? Fetch { get; set; }

    /// <summary>A webhook of this replica saw a write; the report is shared in the background.</summary>
    public void Record(AttributionKey key, ObservedChange change) => _ = RecordAsync(key, change);

    /// <summary>A webhook of this replica saw a write; completes once the report is also shared (admission answers after that, so other replicas hear of the write before their watch does).</summary>
    public Task RecordAsync(AttributionKey key, ObservedChange change)
    {
        Store(key, change);
        return Share?.Invoke(key, change) ?? Task.CompletedTask;
    }

    /// <summary>Another replica's webhook saw a write (shared through Redis).</summary>
    public void Import(AttributionKey key, ObservedChange change) => Store(key, change);

    /// <summary>Another replica's admission webhook has been called (so this one's watch should wait for reports).</summary>
    public void MarkAdmissionSeen() => _admissionSeen = true;

    private void Store(AttributionKey key, ObservedChange change)
    {
        if (change.Actor.Via == ActorSource.Admission)
        {
            _admissionSeen = true;
        }
        else if (change.Actor.Via == ActorSource.AuditWebhook)
        {
            _auditSeen = true;
        }

        TaskCompletionSource signal;
        lock (_lock)
        {
            if (!_entries.ContainsKey(key))
            {
                _order.Enqueue(key);
            }

            _entries[key] = change;
            while (_entries.Count > capacity && _order.TryDequeue(out var oldest))
            {
                _entries.Remove(oldest);
            }

            signal = _recorded;
            _recorded = NewSignal();
        }

        signal.TrySetResult();
    }

    /// <summary>The first of <paramref name="keys"/> that has an entry.</summary>
    public ObservedChange? Find(IReadOnlyList<AttributionKey> keys)
    {
        var oldest = time.GetUtcNow() - MaxAge;
        lock (_lock)
        {
            foreach (var key in keys)
            {
                if (_entries.TryGetValue(key, out var found) && found.At >= oldest)
                {
                    return found;
                }
            }
        }

        return null;
    }

    /// <summary>Like <see cref="Find"/>, but waits up to <paramref name="wait"/> for a webhook to report one of the keys.</summary>
    public async Task<ObservedChange?> WaitAsync(IReadOnlyList<AttributionKey> keys, TimeSpan wait, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(wait, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        while (true)
        {
            Task next;
            lock (_lock)
            {
                next = _recorded.Task;
            }

            if (Find(keys) is { } found)
            {
                return found;
            }

            try
            {
                await next.WaitAsync(linked.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                return Find(keys);
            }
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
