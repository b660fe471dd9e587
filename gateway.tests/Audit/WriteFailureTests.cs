using AuditGateway.Audit;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Writer;
using AuditGateway.Tests.Common;
using static AuditGateway.Tests.Audit.AuditTestKit;

namespace AuditGateway.Tests.Audit;

/// <summary>
/// Guarantee 5 inside the writer: a failure at any I/O step (as the OS reports ENOSPC, EIO, EROFS, a
/// failed fsync) makes the log unwritable with the reason, logged once; nothing is lost while it
/// lasts; when the step succeeds again the writer resumes by itself, records the outage, and the
/// chain still verifies.
/// </summary>
public sealed class WriteFailureTests : IDisposable
{
    private static readonly TimeSpan s_retry = TimeSpan.FromMilliseconds(250);

    private readonly TempDataDirectory _dir = new();
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero));
    private readonly FaultPlan _faults = new();
    private readonly LogCollector _logs = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, string, bool> Failures() => new()
    {
        { "Write", "No space left on device", false },
        { "Write", "Input/output error", false },
        { "Write", "Read-only file system", true },
        { "Sync", "Input/output error", false },
        { "Sync", "No space left on device", false },
        { "Roll", "No space left on device", false },
        { "Roll", "Read-only file system", true },
        { "Checkpoint", "No space left on device", false },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task A_failed_step_stops_the_log_with_its_reason_once_and_resumes_by_itself_with_a_resumed_entry(string stepName, string error, bool accessDenied)
    {
        var step = Enum.Parse<WriteStep>(stepName);
        await using var log = await OpenAsync();
        await log.AppendDurableAsync(Entry(0));
        _faults.Arm(step, error, accessDenied);

        // A durable append (a config change waiting for its entry) and request entries on their way.
        var waiting = log.AppendDurableAsync(Entry(1));
        for (var i = 2; i < 6; i++)
        {
            await log.EnqueueAsync(Entry(i));
        }

        if (step == WriteStep.Checkpoint)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
        }

        await Eventually.TrueAsync(() => !log.Availability.IsWritable, because: $"the log to say it cannot be written after {step} failed");
        Assert.Contains(error, log.Availability.Problem, StringComparison.Ordinal);

        // Retries go on, but the incident is one line.
        for (var i = 0; i < 4; i++)
        {
            var hits = _faults.Hits;
            _clock.Advance(s_retry);
            await Eventually.TrueAsync(() => _faults.Hits > hits, because: "a retry of the failed step");
        }

        Assert.False(log.Availability.IsWritable);
        Assert.Single(_logs.Containing(LogLevel.Error, "The audit log cannot be written", error));
        if (step is WriteStep.Write or WriteStep.Sync)
        {
            Assert.False(waiting.IsCompleted, "an entry that is not durable must not be reported durable");
        }

        _faults.Disarm();
        _clock.Advance(s_retry);
        await Eventually.TrueAsync(() => log.Availability.IsWritable, because: "the writer to resume by itself");
        await waiting;
        await log.AppendDurableAsync(Entry(6));
        await log.DisposeAsync();

        var entries = ReadEntries();
        Assert.Equal(Enumerable.Range(0, entries.Count).Select(i => (long)i), entries.Select(e => e.Seq));
        var resumed = Assert.Single(entries, e => e.Body is LifecycleBody { Event: LifecycleEvent.Resumed });
        var outage = ((LifecycleBody)resumed.Body).Outage!;
        Assert.Contains(error, outage.Reason, StringComparison.Ordinal);
        Assert.True(outage.Until - outage.Since >= 4 * s_retry, $"the outage lasted {outage.Until - outage.Since}");
        Assert.Equal(0, outage.LostEntries);

        // Every entry handed to the log is in it once: the seven of the test, around start, resumed and stop.
        Assert.Equal(7, entries.Count(e => e.Body is not LifecycleBody));
        Assert.Single(_logs.Containing(LogLevel.Warning, "writable again"));
        Assert.Equal(0, (await VerifyAsync(_dir.Path)).ExitCode);
    }

    [Fact]
    public async Task When_no_space_can_be_reserved_requests_stop_but_the_entries_on_their_way_are_written_into_the_reserve()
    {
        await using var log = await OpenAsync(o => o with { ReserveBytes = 64 << 10 });
        _faults.Arm(WriteStep.Reserve, "No space left on device");

        // Enough bytes for the reserve to be topped up: the top-up fails and the gate closes.
        for (var i = 0; i < 200; i++)
        {
            await log.EnqueueAsync(Entry(i));
        }

        await log.AppendDurableAsync(Entry(200));
        Assert.False(log.Availability.IsWritable);
        Assert.Contains("cannot reserve log space", log.Availability.Problem, StringComparison.Ordinal);

        // Still written: the reserve holds them.
        var more = log.AppendDurableAsync(Entry(201));
        await more;
        log.Availability.Refused();
        log.Availability.Refused();

        _faults.Disarm();
        _clock.Advance(s_retry);
        await Eventually.TrueAsync(() => log.Availability.IsWritable, because: "the reserve to be taken again");
        await log.DisposeAsync();

        var outage = ((LifecycleBody)Assert.Single(ReadEntries(), e => e.Body is LifecycleBody { Event: LifecycleEvent.Resumed }).Body).Outage!;
        Assert.Equal(2, outage.RefusedRequests);
        Assert.Equal(0, outage.LostEntries);
        Assert.Equal(202, ReadEntries().Count(e => e.Body is not LifecycleBody));
        Assert.Equal(0, (await VerifyAsync(_dir.Path)).ExitCode);
    }

    [Fact]
    public async Task With_serve_request_entries_of_the_outage_are_dropped_counted_and_reported_in_a_security_entry()
    {
        await using var log = await OpenAsync(o => o with { OnWriteFailure = WriteFailureMode.Serve });
        await log.AppendDurableAsync(Entry(0));
        _faults.Arm(WriteStep.Write, "No space left on device");
        var config = log.AppendDurableAsync(new AuditEntry(_clock.GetUtcNow(), Config()));
        await Eventually.TrueAsync(() => !log.Availability.IsWritable, because: "the outage to begin");

        // Requests keep coming (serve): their entries must not back up into the request path.
        for (var i = 0; i < 100; i++)
        {
            await log.EnqueueAsync(SampleEntries.Request(i, _clock.GetUtcNow()));
        }

        // Taken off the queue at the writer's next wake-up (every 64 entries, or the retry timer).
        await Eventually.TrueAsync(() => log.Availability.OutageCounts().Unaudited >= 64, because: "the dropped request entries to be counted");
        _faults.Disarm();
        _clock.Advance(s_retry);
        await config;
        await log.DisposeAsync();

        var entries = ReadEntries();
        var unaudited = ((LifecycleBody)Assert.Single(entries, e => e.Body is LifecycleBody { Event: LifecycleEvent.Resumed }).Body).Outage!.UnauditedRequests;
        Assert.InRange(unaudited, 64, 100);
        var security = (SecurityBody)Assert.Single(entries, e => e.Body is SecurityBody { Action: SecurityAction.Unaudited }).Body;
        Assert.Equal(unaudited.ToString(System.Globalization.CultureInfo.InvariantCulture), security.Evidence!["requests"]);

        // Each request entry was either dropped and counted, or written (Entry(0) came before the outage).
        Assert.Equal(1 + 100 - unaudited, entries.Count(e => e.Body is RequestBody { Id: var id } && id.StartsWith("0HN7K2Q3S4T5U", StringComparison.Ordinal)));
        Assert.Single(entries, e => e.Body is ConfigBody);
        Assert.Equal(0, (await VerifyAsync(_dir.Path)).ExitCode);
    }

    [Fact]
    public async Task Closing_during_an_outage_counts_what_is_lost_and_leaves_a_log_that_verifies_and_reopens()
    {
        var log = await OpenAsync();
        await log.AppendDurableAsync(Entry(0));
        _faults.Arm(WriteStep.Write, "Input/output error");
        var waiting = log.AppendDurableAsync(Entry(1));
        await log.EnqueueAsync(Entry(2));
        await Eventually.TrueAsync(() => !log.Availability.IsWritable, because: "the outage to begin");
        await log.DisposeAsync();

        await Assert.ThrowsAnyAsync<IOException>(() => waiting);
        Assert.Single(_logs.Containing(LogLevel.Critical, "2 entries were lost"));
        Assert.Equal(0, (await VerifyAsync(_dir.Path)).ExitCode);

        _faults.Disarm();
        await using (var reopened = await OpenAsync())
        {
            Assert.True(reopened.Availability.IsWritable);
        }

        Assert.Equal(0, (await VerifyAsync(_dir.Path)).ExitCode);
    }

    private Task<AuditLog> OpenAsync(Func<AuditOptions, AuditOptions>? configure = null) =>
        AuditLog.OpenAsync(
            Options(_dir.Path, o =>
            {
                var options = o with { TimeProvider = _clock, Faults = _faults, RetryInterval = s_retry, SegmentMaxEntries = 4, CheckpointInterval = TimeSpan.FromSeconds(1) };
                return configure is null ? options : configure(options);
            }),
            _logs.CreateLogger("audit"));

    private List<LoggedEntry> ReadEntries() =>
        [.. AuditLogFiles.ReadLines(_dir.Path).Select(line => EntryParser.TryParse(line, out var error) ?? throw new InvalidOperationException(error))];

    /// <summary>One failure armed at a time, thrown at its step until disarmed.</summary>
    private sealed class FaultPlan : IWriteFaults
    {
        private volatile Armed? _armed;
        private int _hits;

        public int Hits => Volatile.Read(ref _hits);

        public void Arm(WriteStep step, string error, bool accessDenied = false) => _armed = new Armed(step, error, accessDenied);

        public void Disarm() => _armed = null;

        public void Before(WriteStep step)
        {
            if (_armed is { } armed && armed.Step == step)
            {
                Interlocked.Increment(ref _hits);
                throw armed.AccessDenied ? new UnauthorizedAccessException(armed.Error) : new IOException(armed.Error);
            }
        }

        private sealed record Armed(WriteStep Step, string Error, bool AccessDenied);
    }
}
