using AuditGateway.Audit;
using AuditGateway.Audit.Entries;

namespace AuditGateway.Admin;

/// <summary>
/// Auditors are audited: every read of a report, a log export, a search or a stream through the
/// admin API is a <c>security</c> entry (action <c>admin</c>) naming who read what, written before
/// the answer is sent.
/// </summary>
internal sealed class AdminReads(IAuditLog log, TimeProvider time)
{
    /// <summary>Records that the caller read <paramref name="what"/> (e.g. <c>report routes</c>); the subject is the request's path and query.</summary>
    public async Task RecordAsync(HttpContext context, string what)
    {
        var request = context.Request;
        var body = new SecurityBody
        {
            Action = SecurityAction.Admin,
            Subject = request.Method + " " + request.Path + request.QueryString,
            By = "admin:" + AdminEndpoints.PrincipalName(context),
            Reason = what,
        };
        await log.AppendDurableAsync(new AuditEntry(time.GetUtcNow(), body), context.RequestAborted);
    }
}
