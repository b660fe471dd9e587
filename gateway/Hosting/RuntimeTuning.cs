namespace AuditGateway.Hosting;

/// <summary>
/// How the process does its I/O, chosen for a proxy (docs/performance.md, measured in loadtest/README.md
/// "Where the time goes"). The runtime reads its socket setting from the environment only, once, when the
/// first socket is used; so <see cref="Apply"/> runs first thing in <c>Main</c>, and a value the operator
/// set wins over the default.
/// </summary>
internal static class RuntimeTuning
{
    /// <summary>
    /// 1: socket completions run on the thread that polls the sockets (epoll) instead of being queued to the
    /// thread pool: fewer thread hand-offs and context switches per request. 0 turns it off.
    /// </summary>
    public const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Unless 0: Kestrel runs a request's code on the transport thread that read it rather than queueing it to the
    /// thread pool. The proxy path never blocks a thread; the admin API moves to the thread pool first
    /// (<see cref="GatewayApp"/>), since a report or a search may compute for a while.
    /// </summary>
    public const string InlineScheduling = "AUDITGW_INLINE_SCHEDULING";

    public static void Apply()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletions, "1");
        }
    }

    public static bool PreferInlineScheduling => Environment.GetEnvironmentVariable(InlineScheduling) != "0";
}
