namespace AuditGateway.Audit.Entries;

/// <summary>
/// The figures of one request entry that rollups need, without the entry's object graph: what
/// <c>verify</c> hands to <c>LogVerifier.OnRequest</c> for each verified request entry.
/// </summary>
/// <param name="RouteId">The matched route's id, null when no route matched; one string instance per distinct id within one verify.</param>
internal readonly record struct RequestFacts(
    long Seq,
    DateTimeOffset Timestamp,
    string? RouteId,
    int Status,
    Decision Decision,
    long LatencyUs,
    long? UpstreamLatencyUs,
    long BytesIn,
    long BytesOut)
{
    /// <summary>The facts of a parsed request entry (<paramref name="routeId"/> in place of the route's own id string).</summary>
    public static RequestFacts Of(LoggedEntry entry, RequestBody request, string? routeId) => new(
        entry.Seq,
        entry.Timestamp,
        routeId,
        request.Status,
        request.Decision.Decision,
        request.LatencyUs,
        request.UpstreamLatencyUs,
        request.BytesIn,
        request.BytesOut);
}
