using AuditGateway.Audit;

namespace AuditGateway.Proxy;

/// <summary>
/// No unaudited traffic: while the log cannot be written, a request is answered 503 with
/// <c>X-AuditGateway-Reason: audit log unavailable</c> before anything else happens to it, and
/// counted (there is nowhere to write its entry). With <c>audit.onWriteFailure: serve</c> it goes
/// on; the writer counts the entries it has to drop.
/// </summary>
internal sealed class AuditGate(IAuditLog audit, AuditOptions options)
{
    public const string Reason = "audit log unavailable";

    private static readonly byte[] s_body = "503 Service Unavailable: audit log unavailable\n"u8.ToArray();

    private readonly LogAvailability _availability = audit.Availability;
    private readonly bool _reject = options.OnWriteFailure == WriteFailureMode.Reject;

    /// <summary>True when this request must not be forwarded (one volatile read while the log is writable).</summary>
    public bool Refuses => !_availability.IsWritable && _reject;

    /// <summary>Answers the refused request.</summary>
    public Task RefuseAsync(HttpContext context)
    {
        _availability.Refused();
        var response = context.Response;
        response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        response.ContentType = "text/plain; charset=utf-8";
        response.Headers["X-AuditGateway-Reason"] = Reason;
        response.Headers.RetryAfter = "1";
        response.ContentLength = s_body.Length;
        return response.Body.WriteAsync(s_body).AsTask();
    }
}
