using System.Net;
using AuditGateway.Audit.Entries;

namespace AuditGateway.Search;

/// <summary>
/// What a search looks for (<c>auditgw search</c>, <c>GET /api/log</c>, <c>GET /api/changes</c>): every
/// filter set must match (null = any). Filters about requests (route, client, status, decision,
/// request id) match only request entries; identity matches a request's subject or a config change's actor.
/// </summary>
internal sealed record SearchQuery
{
    /// <summary>The page size when none is given.</summary>
    public const int DefaultLimit = 100;

    /// <summary>The largest page; paging with the cursor has no limit.</summary>
    public const int MaxLimit = 10_000;

    /// <summary>Entries at or after this time.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Entries before this time.</summary>
    public DateTimeOffset? To { get; init; }

    public AuditKind? Kind { get; init; }

    /// <summary>A route id, or the Ingress as <c>namespace/name</c>.</summary>
    public string? Route { get; init; }

    /// <summary>A request's identity subject, or a config change's actor username.</summary>
    public string? Identity { get; init; }

    public IPAddress? Client { get; init; }

    public StatusFilter? Status { get; init; }

    public Decision? Decision { get; init; }

    public string? RequestId { get; init; }

    /// <summary>A config change's object, as <c>namespace/name</c> (or <c>name</c> when it has no namespace).</summary>
    public string? Object { get; init; }

    /// <summary>A config change's actor username.</summary>
    public string? Actor { get; init; }

    /// <summary>The first seq to look at (from the cursor).</summary>
    public long StartSeq { get; init; }

    public int Limit { get; init; } = DefaultLimit;

    /// <summary>Whether any filter is set (the cursor and the limit are not filters).</summary>
    public bool HasFilters => this != new SearchQuery { StartSeq = StartSeq, Limit = Limit };

    public bool Matches(LoggedEntry entry)
    {
        if (entry.Seq < StartSeq
            || (From is { } from && entry.Timestamp < from)
            || (To is { } to && entry.Timestamp >= to)
            || (Kind is { } kind && entry.Kind != kind))
        {
            return false;
        }

        return entry.Body switch
        {
            RequestBody r => MatchesRequest(r),
            ConfigBody c => !AsksAboutRequests && MatchesConfig(c),
            _ => !AsksAboutRequests && Identity is null && Object is null && Actor is null,
        };
    }

    private bool AsksAboutRequests => Route is not null || Client is not null || Status is not null || Decision is not null || RequestId is not null;

    private bool MatchesRequest(RequestBody r) =>
        Object is null && Actor is null
        && (Route is null || (r.Route is { } route && (route.Id == Route || $"{route.Namespace}/{route.Ingress}" == Route)))
        && (Identity is null || r.Identity.Subject == Identity)
        && (Client is null || (IPAddress.TryParse(r.Client.Ip, out var ip) && ip.Equals(Client)))
        && (Status is null || Status.Value.Matches(r.Status))
        && (Decision is null || r.Decision.Decision == Decision)
        && (RequestId is null || r.Id == RequestId);

    private bool MatchesConfig(ConfigBody c) =>
        (Identity is null || c.Actor.Username == Identity)
        && (Actor is null || c.Actor.Username == Actor)
        && (Object is null || Object == (c.Object.Namespace is { } ns ? $"{ns}/{c.Object.Name}" : c.Object.Name));
}

/// <summary>A status filter: one code (<c>404</c>) or a class (<c>4xx</c>).</summary>
internal readonly record struct StatusFilter(int Code, bool IsClass)
{
    public bool Matches(int status) => IsClass ? status / 100 == Code : status == Code;

    public override string ToString() => IsClass ? $"{Code}xx" : Code.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
