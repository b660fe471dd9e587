using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text;
using AuditGateway.Audit;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Storage;
using AuditGateway.Audit.Writer;
using AuditGateway.Tests.Common;

using static AuditGateway.Tests.Audit.AuditTestKit;

namespace AuditGateway.Tests.Audit;

public sealed class AuditLogTests : IDisposable
{
    private readonly TempDataDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Polls <paramref name="condition"/> until it holds (or fails the test after 10 s).</summary>
    private static async Task Eventually(Func<bool> condition, string what)
    {
        var started = TimeProvider.System.GetTimestamp();
        while (!condition())
        {
            Assert.True(TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(10), "timed out waiting for " + what);
            await Task.Delay(2);
        }
    }

    private static List<LoggedEntry> Entries(string data)
    {
        var entries = new List<LoggedEntry>();
        using var reader = new LogReader(data);
        while (reader.Read())
        {
            entries.Add(EntryParser.TryParse(reader.Line, out var error) ?? throw new InvalidOperationException(error));
        }

        return entries;
    }

    [Fact]
    public async Task A_durable_append_returns_its_seq_once_the_line_is_on_disk()
    {
        await using var log = await AuditLog.OpenAsync(Options(_dir.Path, o => o with { FlushInterval = TimeSpan.FromHours(1) }));
        await log.EnqueueAsync(Entry(0));
        var receipt = await log.AppendDurableAsync(Entry(1));

        Assert.Equal(2, receipt.Seq);
        Assert.Equal(3, log.DurableSize);
        var onDisk = Entries(_dir.Path);
        Assert.Equal([0L, 1, 2], onDisk.Select(e => e.Seq));
        Assert.Equal(AuditKind.Config, onDisk[2].Kind);
    }

    [Fact]
    public async Task Queued_entries_become_durable_within_the_flush_interval_and_are_checkpointed()
    {
        await using var log = await AuditLog.OpenAsync(Options(_dir.Path, o => o with
        {
            FlushInterval = TimeSpan.FromMilliseconds(20),
            CheckpointInterval = TimeSpan.FromMilliseconds(20),
        }));
        for (var i = 0; i < 10; i++)
        {
            await log.EnqueueAsync(Entry(i));
        }

        await Eventually(() => log.DurableSize == 11, "the batch to be flushed");
        await Eventually(() => log.LatestCheckpoint?.Checkpoint.Size == 11, "a checkpoint of the batch");
        Assert.Equal(11, Entries(_dir.Path).Count);
        Assert.True(File.Exists(LogLayout.CheckpointPath(_dir.Path, 11)));
    }

    [Fact]
    public async Task An_entry_queued_while_only_a_checkpoint_is_pending_is_durable_within_the_flush_interval()
    {
        // The writer sleeps until the next checkpoint when it has no open batch; the first entry
        // after that must wake it, or it would wait for the checkpoint instead of the flush.
        var clock = new ManualTimeProvider(DateTimeOffset.UnixEpoch);
        var flush = TimeSpan.FromMilliseconds(50);
        await using var log = await AuditLog.OpenAsync(Options(_dir.Path, o => o with
        {
            TimeProvider = clock,
            FlushInterval = flush,
            CheckpointInterval = TimeSpan.FromHours(1),
        }));
        await log.AppendDurableAsync(Entry(0));
        Assert.True(log.DurableSize > (log.LatestCheckpoint?.Checkpoint.Size ?? 0), "a checkpoint is pending");

        await log.EnqueueAsync(Entry(1));
        var advanced = TimeSpan.Zero;
        await Eventually(
            () =>
            {
                // Time moves only here, a little per poll, so the writer sees the flush become due.
                clock.Advance(TimeSpan.FromMilliseconds(5));
                advanced += TimeSpan.FromMilliseconds(5);
                return log.DurableSize == 3;
            },
            "the queued entry to be flushed");
        Assert.True(advanced < TimeSpan.FromMinutes(1), $"durable after {advanced} of log time; the flush interval is {flush}");
    }

    [Fact]
    public async Task A_full_queue_makes_producers_wait_never_drops_and_is_counted()
    {
        using var meters = new ScopedMeterFactory();
        long backpressure = 0, request = 0;
        double flushes = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meters)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "auditgw_audit_backpressure_total")
            {
                Interlocked.Add(ref backpressure, value);
            }
            else if (instrument.Name == "auditgw_audit_entries_total" && tags[0].Value is "request")
            {
                Interlocked.Add(ref request, value);
            }
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => flushes++);
        listener.Start();

        const int Count = 20_000;
        var log = await AuditLog.OpenAsync(Options(_dir.Path, o => o with { QueueCapacity = 2 }), meterFactory: meters);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(p => Task.Run(async () =>
        {
            for (var i = p; i < Count; i += 4)
            {
                await log.EnqueueAsync(SampleEntries.Request(i, DateTimeOffset.UnixEpoch));
            }
        })));
        await log.DisposeAsync();

        Assert.True(backpressure > 0, "back-pressure was never felt");
        Assert.Equal(Count, request);
        Assert.True(flushes > 0);
        Assert.Equal(Count + 2, Entries(_dir.Path).Count);
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("dotnet")]
    public async Task Each_SHA_256_choice_gives_the_chain_and_tree_of_the_lines_on_disk_and_is_named_at_start(string sha256)
    {
        Assert.True(Sha256Choices.TryParse(sha256, out var choice));
        var options = Options(_dir.Path, o => o with { Sha256 = choice, FlushInterval = TimeSpan.FromHours(1), SegmentMaxEntries = 40 });
        var expected = choice == Sha256Choice.DotNet ? "dotnet" : Sha256Implementations.Present[0].Name;
        using var logs = new LogCollector();

        // Batches of 55 (three full groups of 16 and 7 left, hashed one by one) and of 10 (one
        // partial group), one of them cut by a segment roll; then the stop entry alone. In lanes the
        // groups of 16 go through all lanes, the rest one by one; otherwise every leaf on its own.
        var log = await AuditLog.OpenAsync(options, logs.CreateLogger("audit"));
        for (var i = 0; i < 53; i++)
        {
            await log.EnqueueAsync(Entry(i));
        }

        await log.AppendDurableAsync(Entry(53));
        for (var i = 0; i < 9; i++)
        {
            await log.EnqueueAsync(Entry(i));
        }

        await log.AppendDurableAsync(Entry(9));
        await log.DisposeAsync();

        var tree = new AuditGateway.Audit.Merkle.MerkleFrontier(Sha256Implementations.DotNet);
        var lines = AuditLogFiles.ReadLines(_dir.Path);
        foreach (var line in lines)
        {
            tree.Append(AuditGateway.Audit.Merkle.MerkleHash.Leaf(Sha256Implementations.DotNet, line));
        }

        Assert.Equal(lines.Skip(1).Select(l => EntryParser.TryParse(l, out _)!.Prev), lines.SkipLast(1).Select(l => Convert.ToHexStringLower(SHA256.HashData(l))));

        Assert.Equal(66, tree.Size);
        Assert.Equal(66, log.LatestCheckpoint?.Checkpoint.Size);
        Assert.Equal(tree.Root(), log.LatestCheckpoint?.Checkpoint.Root);
        Assert.Equal(0, (await VerifyAsync(_dir.Path)).ExitCode);
        await using var reopened = await AuditLog.OpenAsync(options);
        Assert.Equal(67, reopened.DurableSize);
        Assert.Single(logs.Containing(LogLevel.Information, "Audit log open in ", $"; SHA-256 by {expected}."));
    }

    [Fact]
    public async Task Reopening_continues_the_same_chain_and_tree_across_segments()
    {
        await WriteLogAsync(_dir.Path, 25, o => o with { SegmentMaxEntries = 10 });
        await WriteLogAsync(_dir.Path, 25, o => o with { SegmentMaxEntries = 10 });

        var entries = Entries(_dir.Path);
        Assert.Equal(Enumerable.Range(0, 54).Select(i => (long)i), entries.Select(e => e.Seq));
        Assert.Equal(
            [LifecycleEvent.Start, LifecycleEvent.Stop, LifecycleEvent.Start, LifecycleEvent.Stop],
            entries.Select(e => e.Body).OfType<LifecycleBody>().Select(l => l.Event));
        Assert.True(LogLayout.Segments(_dir.Path).Count >= 5);
        Assert.Equal(0, (await VerifyAsync(_dir.Path)).ExitCode);
    }

    [Fact]
    public async Task A_torn_tail_is_cut_recorded_and_the_chain_continues()
    {
        await WriteLogAsync(_dir.Path, 5);
        var torn = "\0\0\0\0\n{\"seq\":7,\"ts\":\"2025-"u8.ToArray();
        using (var file = new FileStream(_dir.Segment0, FileMode.Append))
        {
            file.Write(torn);
        }

        Assert.Equal(1, (await VerifyAsync(_dir.Path)).ExitCode);
        await WriteLogAsync(_dir.Path, 1);

        var recovery = Entries(_dir.Path).Select(e => e.Body).OfType<LifecycleBody>().Single(l => l.Event == LifecycleEvent.Recovery);
        Assert.Equal(torn.Length, recovery.TruncatedBytes);
        Assert.Equal(2, recovery.TruncatedLines);
        Assert.Equal("000000000000.jsonl", recovery.Segment);
        Assert.Equal(0, (await VerifyAsync(_dir.Path)).ExitCode);
    }

    [Fact]
    public async Task A_partial_last_line_from_a_crash_passes_verify_until_the_restart_cuts_it()
    {
        await WriteLogAsync(_dir.Path, 3);
        using (var file = new FileStream(_dir.Segment0, FileMode.Append))
        {
            file.Write("{\"seq\":5,\"ts\":\"20"u8);
        }

        var before = await VerifyAsync(_dir.Path);
        Assert.Equal(0, before.ExitCode);
        Assert.Contains(" torn-tail-bytes=17 ", before.Output, StringComparison.Ordinal);

        await WriteLogAsync(_dir.Path, 0);
        var after = await VerifyAsync(_dir.Path);
        Assert.Equal(0, after.ExitCode);
        Assert.DoesNotContain("torn", after.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unclean_stop_without_a_torn_tail_is_still_recorded()
    {
        await WriteLogAsync(_dir.Path, 3);
        var lines = ReadLines(_dir.Segment0);
        WriteLines(_dir.Segment0, lines.Take(lines.Count - 1));
        File.Delete(LogLayout.CheckpointPath(_dir.Path, 5));
        File.Copy(LogLayout.CheckpointPath(_dir.Path, 1), LogLayout.LatestCheckpoint(_dir.Path), overwrite: true);

        await WriteLogAsync(_dir.Path, 0);
        var recovery = Entries(_dir.Path).Select(e => e.Body).OfType<LifecycleBody>().Single(l => l.Event == LifecycleEvent.Recovery);
        Assert.Equal(0, recovery.TruncatedBytes);
    }

    [Fact]
    public async Task Opening_refuses_a_log_that_is_not_consistent_with_its_last_checkpoint()
    {
        await WriteLogAsync(_dir.Path, 6);
        var lines = ReadLines(_dir.Segment0);
        lines[2] = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(lines[2]).Replace("alice", "mallory", StringComparison.Ordinal));
        RechainFrom(lines, 3);
        WriteLines(_dir.Segment0, lines);
        var rewritten = await Assert.ThrowsAsync<InvalidDataException>(() => AuditLog.OpenAsync(Options(_dir.Path)));
        Assert.Contains("do not match the last checkpoint", rewritten.Message, StringComparison.Ordinal);

        WriteLines(_dir.Segment0, lines.Take(4));
        var truncated = await Assert.ThrowsAsync<InvalidDataException>(() => AuditLog.OpenAsync(Options(_dir.Path)));
        Assert.Contains("entries were lost or removed", truncated.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreadable_lines_the_last_checkpoint_signed_are_never_cut_as_a_torn_tail()
    {
        await WriteLogAsync(_dir.Path, 6);
        var lines = ReadLines(_dir.Segment0);
        // The last lines of the log made unreadable, as a log in another format would be: a crash
        // could not have torn them, because the last checkpoint signed them.
        foreach (var i in Enumerable.Range(3, lines.Count - 3))
        {
            lines[i] = Encoding.UTF8.GetBytes("{\"unknown\":" + i + "}");
        }

        WriteLines(_dir.Segment0, lines);
        var before = File.ReadAllBytes(_dir.Segment0);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => AuditLog.OpenAsync(Options(_dir.Path)));
        Assert.Contains("not cutting signed entries", error.Message, StringComparison.Ordinal);
        Assert.Contains("only 3 read before them", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(_dir.Segment0));
    }

    [Fact]
    public async Task Opening_checks_against_the_newest_checkpoint_even_when_latest_was_not_updated()
    {
        await WriteLogAsync(_dir.Path, 6);
        File.Copy(LogLayout.CheckpointPath(_dir.Path, 1), LogLayout.LatestCheckpoint(_dir.Path), overwrite: true);
        WriteLines(_dir.Segment0, ReadLines(_dir.Segment0).Take(5));

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => AuditLog.OpenAsync(Options(_dir.Path)));
        Assert.Contains("covers 8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Subscribers_see_durable_entries_in_order()
    {
        await using var log = await AuditLog.OpenAsync(Options(_dir.Path));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = new List<LiveEntry>();
        var subscription = log.SubscribeAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var first = subscription.MoveNextAsync();
        for (var i = 0; i < 3; i++)
        {
            await log.AppendDurableAsync(Entry(i));
        }

        Assert.True(await first);
        received.Add(subscription.Current);
        while (received.Count < 3 && await subscription.MoveNextAsync())
        {
            received.Add(subscription.Current);
        }

        Assert.Equal([1L, 2, 3], received.Select(e => e.Seq));
        Assert.Equal(AuditKind.Config, received[1].Kind);
        Assert.StartsWith("{\"seq\":2,", received[1].Json, StringComparison.Ordinal);
        await cts.CancelAsync();
        await subscription.DisposeAsync();
    }

    [Fact]
    public async Task A_signing_key_is_generated_when_absent_and_reused()
    {
        await WriteLogAsync(_dir.Path, 1);
        var key = File.ReadAllText(Path.Combine(_dir.Path, "keys", "signing.pem"));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", key, StringComparison.Ordinal);
        await WriteLogAsync(_dir.Path, 1);
        Assert.Equal(key, File.ReadAllText(Path.Combine(_dir.Path, "keys", "signing.pem")));
        Assert.Equal(0, (await VerifyAsync(_dir.Path, "--public-key", Path.Combine(_dir.Path, "keys", "signing.pub.pem"))).ExitCode);
    }

    [Fact]
    public async Task Invalid_options_are_refused_naming_each_problem()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => AuditLog.OpenAsync(Options(_dir.Path, o => o with { NodeId = "a b", QueueCapacity = 0 })));
        Assert.Contains("node id 'a b'", error.Message, StringComparison.Ordinal);
        Assert.Contains("queue capacity 0", error.Message, StringComparison.Ordinal);
    }

    private sealed class ScopedMeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose() => _meters.ForEach(m => m.Dispose());
    }
}
