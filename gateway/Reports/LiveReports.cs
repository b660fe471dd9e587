using AuditGateway.Audit;
using AuditGateway.Audit.Entries;

namespace AuditGateway.Reports;

/// <summary>
/// The reports since the gateway started, kept in memory from the durable entries as the writer hands
/// them over (<see cref="IDurableEntries"/>: typed, no line to parse, so the request path's throughput
/// does not pay for a second decoding of every entry): the same aggregates as a report from the log,
/// bounded by <see cref="Limits"/>. Not verified against a checkpoint (they come from the writer, not
/// from the files). Call <see cref="Start"/> once the log is open.
/// </summary>
internal sealed class LiveReports(IAuditLog log, IDurableEntries entries)
{
    /// <summary>At most 10,000 routes, identities and clients, 1,000 per route for the top lists, the newest 1,000 config changes.</summary>
    public static ReportLimits Limits { get; } = new() { MaxKeys = 10_000, MaxKeysPerRoute = 1_000, MaxChanges = 1_000 };

    private readonly Lock _lock = new();
    private readonly ReportAggregator _aggregator = new(null, null, Limits);
    private readonly System.Collections.Concurrent.ConcurrentQueue<LoggedEntry> _pending = new();
    private int _started;

    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            entries.Observe(Add);
        }
    }

    /// <summary>Every section from the entries seen so far.</summary>
    public Report Snapshot()
    {
        var checkpoint = log.LatestCheckpoint?.Checkpoint is { } c ? new CheckpointInfo(c.Origin, c.Size, Convert.ToBase64String(c.Root)) : null;
        lock (_lock)
        {
            Drain();
            return _aggregator.Build(new ReportSource
            {
                Mode = "live",
                Checkpoint = checkpoint,
                EntriesAfterCheckpoint = Math.Max(0, (_aggregator.LastSeq + 1 ?? 0) - (checkpoint?.Size ?? 0)),
                EntriesMissed = 0,
                Verification = ReportSource.NotVerified,
            });
        }
    }

    /// <summary>On the writer's thread: queued, and aggregated now unless a snapshot holds the aggregates (the writer never waits for one).</summary>
    private void Add(long firstSeq, ReadOnlySpan<DateTimeOffset> timestamps, ReadOnlySpan<AuditBody> bodies)
    {
        for (var i = 0; i < bodies.Length; i++)
        {
            _pending.Enqueue(new LoggedEntry(firstSeq + i, timestamps[i], "", "", bodies[i]));
        }

        if (_lock.TryEnter())
        {
            try
            {
                Drain();
            }
            finally
            {
                _lock.Exit();
            }
        }
    }

    /// <summary>Under the lock: aggregates what is queued.</summary>
    private void Drain()
    {
        while (_pending.TryDequeue(out var entry))
        {
            _aggregator.Add(entry);
        }
    }
}
