using System.Text;
using AuditGateway.Audit;
using AuditGateway.Audit.Entries;

namespace AuditGateway.Reports;

/// <summary>
/// The reports since the gateway started, kept in memory from the log's live feed (durable entries):
/// the same aggregates as a report from the log, bounded by <see cref="Limits"/>. Not verified
/// against a checkpoint (they come from the writer, not from the files); a feed that fell behind
/// is counted in <see cref="ReportSource.EntriesMissed"/>. Call <see cref="Start"/> once the log is open.
/// </summary>
internal sealed partial class LiveReports(IAuditLog log, ILogger<LiveReports> logger) : IAsyncDisposable
{
    /// <summary>At most 10,000 routes, identities and clients, 1,000 per route for the top lists, the newest 1,000 config changes.</summary>
    public static ReportLimits Limits { get; } = new() { MaxKeys = 10_000, MaxKeysPerRoute = 1_000, MaxChanges = 1_000 };

    private readonly Lock _lock = new();
    private readonly ReportAggregator _aggregator = new(null, null, Limits);
    private readonly CancellationTokenSource _stop = new();
    private Task? _reading;
    private long _missed;

    public void Start()
    {
        if (_reading is not null)
        {
            return;
        }

        // The first MoveNextAsync subscribes before it returns: no durable entry after Start is missed.
        var entries = log.SubscribeAsync(_stop.Token).GetAsyncEnumerator(_stop.Token);
        var first = entries.MoveNextAsync();
        _reading = ReadAsync(entries, first);
    }

    /// <summary>Every section from the entries seen so far.</summary>
    public Report Snapshot()
    {
        var checkpoint = log.LatestCheckpoint?.Checkpoint is { } c ? new CheckpointInfo(c.Origin, c.Size, Convert.ToBase64String(c.Root)) : null;
        lock (_lock)
        {
            return _aggregator.Build(new ReportSource
            {
                Mode = "live",
                Checkpoint = checkpoint,
                EntriesAfterCheckpoint = Math.Max(0, (_aggregator.LastSeq + 1 ?? 0) - (checkpoint?.Size ?? 0)),
                EntriesMissed = _missed,
                Verification = ReportSource.NotVerified,
            });
        }
    }

    private async Task ReadAsync(IAsyncEnumerator<LiveEntry> entries, ValueTask<bool> first)
    {
        try
        {
            for (var more = await first; more; more = await entries.MoveNextAsync())
            {
                var live = entries.Current;
                var entry = EntryParser.TryParse(Encoding.UTF8.GetBytes(live.Json), out var error);
                lock (_lock)
                {
                    if (_aggregator.LastSeq is { } last && live.Seq > last + 1)
                    {
                        _missed += live.Seq - last - 1;
                    }

                    if (entry is null)
                    {
                        LogUnreadable(logger, live.Seq, error);
                        continue;
                    }

                    _aggregator.Add(entry);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        finally
        {
            await entries.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_reading is not null)
        {
            await _reading;
        }

        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Live reports: entry {Seq} from the live feed does not parse ({Error}); left out")]
    private static partial void LogUnreadable(ILogger logger, long seq, string? error);
}
