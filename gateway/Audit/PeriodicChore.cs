namespace AuditGateway.Audit;

/// <summary>
/// Keeps derived data beside the log up to date in the gateway (the rollups): runs a
/// chore at start and then every period on a thread pool thread until disposed, and logs one line
/// when the chore starts failing and one when it works again, never one per attempt.
/// </summary>
internal sealed partial class PeriodicChore(string name, TimeSpan period, TimeProvider time, ILogger logger, Action chore) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private bool _failing;

    public void Start() => _loop ??= Task.Run(LoopAsync);

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(period, time);
        do
        {
            try
            {
                chore();
                if (_failing)
                {
                    _failing = false;
                    Log.Recovered(logger, name);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or InvalidDataException or System.Data.Common.DbException)
            {
                if (!_failing)
                {
                    _failing = true;
                    Log.Failing(logger, name, e.Message, period.TotalSeconds);
                }
            }
        }
        while (await WaitAsync(timer));
    }

    private async Task<bool> WaitAsync(PeriodicTimer timer)
    {
        try
        {
            return await timer.WaitForNextTickAsync(_stop.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        _stop.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "{Name}: {Reason} (the log is unaffected; retried every {Seconds} s)")]
        public static partial void Failing(ILogger logger, string name, string reason, double seconds);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "{Name}: up to date again")]
        public static partial void Recovered(ILogger logger, string name);
    }
}
