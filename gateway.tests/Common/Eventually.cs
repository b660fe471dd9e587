namespace AuditGateway.Tests.Common;

/// <summary>Waits for a condition instead of sleeping a fixed time.</summary>
internal static class Eventually
{
    public static Task TrueAsync(Func<bool> condition, TimeSpan? timeout = null, string? because = null) =>
        TrueAsync(() => Task.FromResult(condition()), timeout, because);

    /// <summary>The same for a condition that has to ask someone (a Redis server, a process), without blocking a thread while it waits for the answer.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan? timeout = null, string? because = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (!await condition())
        {
            if (System.Diagnostics.Stopwatch.GetElapsedTime(started) > limit)
            {
                throw new TimeoutException("condition not met: " + (because ?? "(no description)"));
            }

            await Task.Delay(5);
        }
    }
}
