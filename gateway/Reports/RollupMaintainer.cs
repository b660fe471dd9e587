using System.Diagnostics;
using System.Threading.Channels;
using AuditGateway.Audit;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Reports;

/// <summary>
/// Keeps <c>rollup/</c> beside the log in the gateway: each block is rolled up from the entries the
/// writer hands over (typed, not parsed again) on a thread of its own, so the writer only copies a
/// batch into a queue; a block begun before start, or whose batches were dropped because this thread
/// fell behind, is rebuilt from the log, as are missing, unreadable and stale rollups (checked at start
/// and every minute). The block being filled is written as far as it goes every 10 seconds. Rollups
/// of pruned blocks are removed.
/// </summary>
internal sealed partial class RollupMaintainer(IAuditLog log, IDurableEntries entries, AuditOptions options, TimeProvider time, ILogger<RollupMaintainer> logger) : IAsyncDisposable
{
    private static readonly TimeSpan RebuildEvery = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan PartialEvery = TimeSpan.FromSeconds(10);

    private readonly Channel<Batch> _batches = Channel.CreateBounded<Batch>(new BoundedChannelOptions(4096) { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _stop = new();
    private long _liveBlock = -1;
    private Task? _consumer;
    private PeriodicChore? _rebuilder;
    private bool _failing;

    public void Start()
    {
        if (_consumer is not null)
        {
            return;
        }

        entries.Observe((first, timestamps, bodies) =>
        {
            // Dropped when the queue is full: that block is rebuilt from the log.
            _ = _batches.Writer.TryWrite(new Batch(first, timestamps.ToArray(), bodies.ToArray()));
        });
        _consumer = Task.Factory.StartNew(ConsumeAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        _rebuilder = new PeriodicChore("rollups", RebuildEvery, time, logger, () =>
        {
            var started = Stopwatch.GetTimestamp();
            if (RebuildNow() is var built and > 0)
            {
                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                Log.Rebuilt(logger, built, seconds);
            }
        });
        _rebuilder.Start();
    }

    /// <summary>Rebuilds now what is missing (tests; the loop does it at start and every minute).</summary>
    public int RebuildNow() => Rebuild(options.DataDirectory, options.NodeId, log.DurableSize, Interlocked.Read(ref _liveBlock));

    /// <summary>
    /// Builds the rollup of every block up to <paramref name="durable"/> (null: as far as the log's
    /// complete lines go) that has none, or one that is unreadable, of another version or node, or that
    /// stops short of what the log now holds; the last block's rollup covers what there is of it. Skips
    /// block <paramref name="skip"/> (the one being rolled up live) and removes the rollups of pruned
    /// blocks. Returns how many were built.
    /// </summary>
    public static int Rebuild(string data, string node, long? durable, long skip = -1)
    {
        var (logStart, segments) = LogStart.Find(data, LogLayout.Segments(data));
        if (segments.Count == 0)
        {
            return 0;
        }

        var start = logStart.Seq;
        foreach (var first in RollupStore.List(data).Where(f => RollupStore.BlockEnd(f) <= start))
        {
            File.Delete(RollupStore.PathOf(data, first));
        }

        var end = durable ?? LogEnd(segments);
        var built = 0;
        for (var first = start; first < end; first = RollupStore.BlockEnd(first))
        {
            var blockEnd = Math.Min(RollupStore.BlockEnd(first), end);
            if (first == skip || RollupStore.TryRead(data, first, out _) is { } kept && kept.Node == node && kept.EndSeq == blockEnd)
            {
                continue;
            }

            var builder = new RollupBuilder(node, first);
            if (!RollupStore.TryReadEntries(segments, first, blockEnd, e => builder.Add(e.Seq, e.Timestamp, e.Body), out var problem))
            {
                // The writer may have begun a segment since they were listed.
                segments = LogLayout.Segments(data);
                builder = new RollupBuilder(node, first);
                if (!RollupStore.TryReadEntries(segments, first, blockEnd, e => builder.Add(e.Seq, e.Timestamp, e.Body), out problem))
                {
                    throw new InvalidDataException($"cannot roll up seqs {first}..{blockEnd - 1}: {problem}");
                }
            }

            RollupStore.Write(data, builder.Build());
            built++;
        }

        return built;
    }

    /// <summary>One past the seq of the last complete line.</summary>
    private static long LogEnd(List<SegmentFile> segments)
    {
        var last = segments[^1];
        var lines = 0L;
        SegmentLines.ForEach(last, 0, (index, _) => lines = index + 1);
        return last.FirstSeq + lines;
    }

    private async Task ConsumeAsync()
    {
        RollupBuilder? builder = null;
        var written = time.GetTimestamp();
        try
        {
            await foreach (var batch in _batches.Reader.ReadAllAsync(_stop.Token))
            {
                for (var i = 0; i < batch.Bodies.Length; i++)
                {
                    var seq = batch.FirstSeq + i;
                    if (builder is not null && builder.NextSeq != seq)
                    {
                        builder = null;
                    }

                    if (builder is null && seq % RollupStore.BlockSize == 0)
                    {
                        builder = new RollupBuilder(options.NodeId, seq);
                        Interlocked.Exchange(ref _liveBlock, seq);
                    }

                    builder?.Add(seq, batch.Timestamps[i], batch.Bodies[i]);
                    if (builder is not null && builder.NextSeq % RollupStore.BlockSize == 0)
                    {
                        Write(builder.Build());
                        builder = null;
                    }
                }

                // What there is of the block, every few seconds, so that a report reads few entries past the rollups.
                if (builder is not null && time.GetElapsedTime(written) >= PartialEvery)
                {
                    Write(builder.Build());
                    written = time.GetTimestamp();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Write(RollupFile file)
    {
        try
        {
            RollupStore.Write(options.DataDirectory, file);
            Recovered();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Failed(e.Message);
        }
    }

    private void Failed(string reason)
    {
        if (!_failing)
        {
            _failing = true;
            Log.Failing(logger, reason);
        }
    }

    private void Recovered()
    {
        if (_failing)
        {
            _failing = false;
            Log.Recovered(logger);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _batches.Writer.TryComplete();
        if (_consumer is not null)
        {
            await _consumer;
        }

        if (_rebuilder is not null)
        {
            await _rebuilder.DisposeAsync();
        }

        _stop.Dispose();
    }

    private sealed record Batch(long FirstSeq, DateTimeOffset[] Timestamps, AuditBody[] Bodies);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "rollups: built {Blocks} missing block rollups from the log in {Seconds:F1} s")]
        public static partial void Rebuilt(ILogger logger, int blocks, double seconds);

        [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "rollups: cannot write rollup/: {Reason} (reports fall back to reading the log; retried)")]
        public static partial void Failing(ILogger logger, string reason);

        [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "rollups: rollup/ is written again")]
        public static partial void Recovered(ILogger logger);
    }
}
