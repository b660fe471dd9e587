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
    /// <summary>The rule that decided, when there is one.</summary>
    public string? Rule { get; init; }

    /// <summary>The identity's subject when it is authenticated; null otherwise.</summary>
    public string? Subject { get; init; }

    public string? ClientIp { get; init; }

    /// <summary>The facts of a parsed request entry (<paramref name="routeId"/> in place of the route's own id string).</summary>
    public static RequestFacts Of(LoggedEntry entry, RequestBody request, string? routeId) => Of(entry.Seq, entry.Timestamp, request, routeId);

    /// <summary>The facts of a request entry known by its seq and time (the writer's typed entries).</summary>
    public static RequestFacts Of(long seq, DateTimeOffset timestamp, RequestBody request, string? routeId) => new(
        seq,
        timestamp,
        routeId,
        request.Status,
        request.Decision.Decision,
        request.LatencyUs,
        request.UpstreamLatencyUs,
        request.BytesIn,
        request.BytesOut)
    {
        Rule = request.Decision.Rule,
        Subject = request.Identity.Authenticated ? request.Identity.Subject : null,
        ClientIp = request.Client.Ip,
    };
}
