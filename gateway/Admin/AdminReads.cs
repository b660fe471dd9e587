using AuditGateway.Admin.Dashboard;
using AuditGateway.Audit;
using AuditGateway.Audit.Entries;

namespace AuditGateway.Admin;

/// <summary>
/// Auditors are audited: every read of a report, a log export, a search or a stream through the
/// admin API is a <c>security</c> entry (action <c>admin</c>) naming who read what, written before
/// the answer is sent. A dashboard repeating the same read in one of its sessions is recorded once
/// per session (<see cref="DashboardSessions"/>): the record names the session in its evidence.
/// </summary>
internal sealed class AdminReads(IAuditLog log, TimeProvider time)
{
    private readonly DashboardSessions _sessions = new(time);

    /// <summary>Opens a dashboard session for the caller (recorded, reason <c>dashboard session</c>); returns its id.</summary>
    public async Task<string> OpenSessionAsync(HttpContext context)
    {
        var id = _sessions.Open(By(context));
        await AppendAsync(context, "dashboard session", id, context.RequestAborted);
        return id;
    }

    /// <summary>
    /// Records that the caller read <paramref name="what"/> (e.g. <c>report routes</c>); the subject is the request's
    /// path and query. A repeat within the dashboard session named by the request waits for the session's first record instead.
    /// </summary>
    public Task RecordAsync(HttpContext context, string what)
    {
        var header = context.Request.Headers[DashboardSessions.Header];
        var session = header.Count == 1 ? header[0] : null;
        return _sessions.RecordOnce(session, By(context), Subject(context.Request), inSession => inSession
            // A record other reads of the session may wait for is not tied to this request's lifetime.
            ? AppendAsync(context, what, session, CancellationToken.None)
            : AppendAsync(context, what, null, context.RequestAborted));
    }

    private async Task AppendAsync(HttpContext context, string what, string? session, CancellationToken cancellationToken)
    {
        var body = new SecurityBody
        {
            Action = SecurityAction.Admin,
            Subject = Subject(context.Request),
            By = By(context),
            Reason = what,
            Evidence = session is null ? null : new Dictionary<string, string>(StringComparer.Ordinal) { ["dashboardSession"] = session },
        };
        await log.AppendDurableAsync(new AuditEntry(time.GetUtcNow(), body), cancellationToken);
    }

    private static string Subject(HttpRequest request) => request.Method + " " + request.Path + request.QueryString;

    private static string By(HttpContext context) => "admin:" + AdminEndpoints.PrincipalName(context);
}
