using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using AuditGateway.Audit.Entries;
using AuditGateway.Policy;
using AuditGateway.Routing;
using Microsoft.AspNetCore.Connections.Features;

namespace AuditGateway.Proxy;

/// <summary>
/// What the gateway learned about one request as it went, turned into its audit entry at the end.
/// Also the request's feature (<c>HttpContext.Features.Get&lt;RequestRecord&gt;()</c>): the table in
/// force, the route matched and the decision.
/// </summary>
internal sealed class RequestRecord(long startedAt, RouteTable table, ClientAddress client)
{
    private static readonly ConditionalWeakTable<IngressRoute, RouteRefs> s_auditRefs = new();

    /// <summary>Each forwarding attempt (endpoint index, error), kept only once one failed or was retried.</summary>
    private List<(int Destination, string? Error)>? _attempts;

    public long StartedAt { get; } = startedAt;

    public RouteTable Table { get; } = table;

    public ClientAddress Client { get; } = client;

    public IngressRoute? Route { get; set; }

    public PolicyDecision Decision { get; set; } = PolicyDecision.Allowed;

    public string? Destination => DestinationIndex < 0 ? null : Route!.Backend.Destinations[DestinationIndex];

    /// <summary>The endpoint of <see cref="Route"/> the request was forwarded to, or -1.</summary>
    public int DestinationIndex { get; set; } = -1;

    public long? UpstreamMicroseconds { get; set; }

    public string? UpstreamError { get; set; }

    public CountingStream? BodyIn { get; set; }

    public CountingStream? BodyOut { get; set; }

    /// <summary>The request is a gRPC call (<see cref="GrpcProtocol.IsCall"/>), decided once as it arrives.</summary>
    public bool IsGrpcCall { get; init; }

    /// <summary>The connection an upgrade request may become (a WebSocket); null for every other request.</summary>
    public UpgradedTunnel? Tunnel { get; set; }

    /// <summary>Bytes the gateway wrote itself (its own 403/404/503 replies).</summary>
    public long GatewayBytesOut { get; set; }

    /// <summary>The request's SERVER span, when it is traced (or its context only propagated).</summary>
    public Activity? Span { get; init; }

    /// <summary>The CLIENT span of the attempt being forwarded now; its context is the backend's <c>traceparent</c>.</summary>
    public Activity? ClientSpan { get; set; }

    /// <summary>The client was refused because it was already blocked: not evidence for the probe detector.</summary>
    public bool RefusedAsBlocked { get; set; }

    /// <summary>Notes an attempt; the first successful one is not noted (the entry's route says where it went).</summary>
    public void AddAttempt(int destinationIndex, string? error) => (_attempts ??= []).Add((destinationIndex, error));

    public RequestBody ToEntry(HttpContext context, QueryRedactor redactor, long latencyMicroseconds)
    {
        var request = context.Request;
        var identity = Decision.Identity;
        var route = Route is { Path: not null } r ? r : null;
        var refs = route is null ? null : AuditRefs(route);
        return new RequestBody
        {
            Id = context.TraceIdentifier,
            Method = request.Method,
            Scheme = request.Scheme,
            Host = request.Host.Value ?? "",
            Path = request.Path.Value ?? "",
            Query = redactor.Redact(request.QueryString.Value, Route?.Policy?.RedactQuery),
            Protocol = request.Protocol,
            Client = new ClientEndpoint(Client.IpText, Client.Port),
            Forwarded = Client.Chain,
            UserAgent = request.Headers.UserAgent.Count > 0 ? request.Headers.UserAgent.ToString() : null,
            Identity = identity?.AuditIdentity ?? RequestIdentity.Anonymous,
            Route = refs?.For(DestinationIndex),
            Revision = Table.Revision,
            Decision = refs is not null && Decision is { Outcome: DecisionOutcome.Allow, Rule: null, Reason: null }
                ? refs.Allowed
                : new RequestDecision(
                    Decision.Outcome switch
                    {
                        DecisionOutcome.Deny => Audit.Entries.Decision.Deny,
                        DecisionOutcome.WouldDeny => Audit.Entries.Decision.WouldDeny,
                        _ => Audit.Entries.Decision.Allow,
                    },
                    Decision.Rule ?? route?.Id,
                    Decision.Reason),
            Status = context.Response.StatusCode,
            BytesIn = (BodyIn?.Count ?? 0) + (Tunnel?.BytesIn ?? 0),
            BytesOut = (BodyOut?.Count ?? 0) + GatewayBytesOut + (Tunnel?.BytesOut ?? 0),
            LatencyUs = latencyMicroseconds,
            UpstreamLatencyUs = UpstreamMicroseconds,
            Tls = context.Features.Get<ITlsHandshakeFeature>() is { } tls
                ? new TlsInfo(string.IsNullOrEmpty(tls.HostName) ? null : tls.HostName, Version(tls.Protocol))
                : null,
            UpstreamError = UpstreamError,
            Attempts = _attempts?.ConvertAll(a => new UpstreamAttempt(Route!.Backend.Destinations[a.Destination], a.Error)),
            TraceId = Span is { Recorded: true } span ? span.TraceId.ToHexString() : null,
            Grpc = IsGrpcCall ? GrpcProtocol.Outcome(context, BodyIn, BodyOut) : null,
            WebSocket = Tunnel?.Entry,
        };
    }

    private static RouteRefs AuditRefs(IngressRoute route) => s_auditRefs.GetValue(route, static r => new RouteRefs(r));

    private static string Version(SslProtocols protocol) => protocol switch
    {
        SslProtocols.Tls13 => "TLSv1.3",
        SslProtocols.Tls12 => "TLSv1.2",
        _ => protocol.ToString(),
    };

    /// <summary>What entries say of one route, made once: its refs (none yet, then one per endpoint) and its plain "allow".</summary>
    private sealed class RouteRefs(IngressRoute route)
    {
        /// <summary>Slot 0: not forwarded; slot i + 1: forwarded to destination i.</summary>
        private readonly RouteRef?[] _byDestination = new RouteRef?[route.Backend.Destinations.Count + 1];

        public RequestDecision Allowed { get; } = new(Audit.Entries.Decision.Allow, route.Id, null);

        /// <summary>
        /// The route as entries name it, with the destination: made once per endpoint, since every
        /// request forwarded there names the same (a route table is immutable; a new one brings new routes).
        /// </summary>
        public RouteRef For(int destinationIndex) => _byDestination[destinationIndex + 1] ??= new RouteRef
        {
            Id = route.Id,
            Namespace = route.Namespace,
            Ingress = route.Ingress,
            Path = route.Path!,
            PathType = route.PathType!,
            Service = route.Backend.Service,
            Port = route.Backend.Port,
            Destination = destinationIndex < 0 ? null : route.Backend.Destinations[destinationIndex],
        };
    }
}
