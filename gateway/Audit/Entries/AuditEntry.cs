using System.Text.Json;
using System.Text.Json.Serialization;

namespace AuditGateway.Audit.Entries;

/// <summary>The four kinds of entry; the JSON value is the lower-case name.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AuditKind>))]
internal enum AuditKind
{
    [JsonStringEnumMemberName("request")] Request,
    [JsonStringEnumMemberName("config")] Config,
    [JsonStringEnumMemberName("security")] Security,
    [JsonStringEnumMemberName("lifecycle")] Lifecycle,
}

/// <summary>
/// What a producer hands to the log: when it happened and what happened. The writer adds
/// <c>seq</c>, <c>prev</c> and <c>node</c>.
/// </summary>
internal sealed record AuditEntry(DateTimeOffset Timestamp, AuditBody Body)
{
    public AuditKind Kind => Body.Kind;
}

/// <summary>An entry as it stands in the log.</summary>
internal sealed record LoggedEntry(long Seq, DateTimeOffset Timestamp, string Node, string Prev, AuditBody Body)
{
    public AuditKind Kind => Body.Kind;
}

/// <summary>The typed body of an entry; one subtype per <see cref="AuditKind"/>.</summary>
internal abstract record AuditBody
{
    private protected AuditBody()
    {
    }

    [JsonIgnore]
    public abstract AuditKind Kind { get; }
}

// ---------------------------------------------------------------- request

[JsonConverter(typeof(JsonStringEnumConverter<Decision>))]
internal enum Decision
{
    [JsonStringEnumMemberName("allow")] Allow,
    [JsonStringEnumMemberName("deny")] Deny,
    [JsonStringEnumMemberName("would-deny")] WouldDeny,
}

/// <summary>One proxied (or refused) request.</summary>
internal sealed record RequestBody : AuditBody
{
    public override AuditKind Kind => AuditKind.Request;

    public required string Id { get; init; }
    public required string Method { get; init; }
    public required string Scheme { get; init; }
    public required string Host { get; init; }
    public required string Path { get; init; }

    /// <summary>The query string with redacted parameter values, without the leading <c>?</c>; null when absent.</summary>
    public string? Query { get; init; }

    public required string Protocol { get; init; }
    public required ClientEndpoint Client { get; init; }

    /// <summary>The trusted part of the forwarded chain, nearest proxy last.</summary>
    public IReadOnlyList<string> Forwarded { get; init; } = [];

    public string? UserAgent { get; init; }
    public required RequestIdentity Identity { get; init; }

    /// <summary>The matched route; null when no route matched.</summary>
    public RouteRef? Route { get; init; }

    /// <summary>The config revision in force.</summary>
    public required string Revision { get; init; }

    public required RequestDecision Decision { get; init; }
    public int Status { get; init; }
    public long BytesIn { get; init; }
    public long BytesOut { get; init; }
    public long LatencyUs { get; init; }
    public long? UpstreamLatencyUs { get; init; }
    public TlsInfo? Tls { get; init; }
    public string? UpstreamError { get; init; }

    /// <summary>
    /// Each forwarding attempt, when one failed (a refused or reset connection retried on another
    /// endpoint); absent from the line when the first attempt went through.
    /// </summary>
    public IReadOnlyList<UpstreamAttempt>? Attempts { get; init; }

    /// <summary>
    /// The W3C trace id (32 lowercase hex digits) of the request's SERVER span, when it was traced;
    /// absent from the line otherwise.
    /// </summary>
    public string? TraceId { get; init; }

    /// <summary>A gRPC call's outcome and message counts (request content type <c>application/grpc</c>); absent from the line otherwise.</summary>
    public GrpcCall? Grpc { get; init; }

    /// <summary>A WebSocket (HTTP/1.1 upgrade or HTTP/2 extended CONNECT) the request became; absent from the line otherwise.</summary>
    public WebSocketInfo? WebSocket { get; init; }
}

/// <summary>
/// How a proxied WebSocket ended: the status code of the first Close frame (null when it carried
/// none, or no side sent one), the side that sent it (<see cref="WebSocketInfo.Client"/>,
/// <see cref="WebSocketInfo.Backend"/>, or null when the connection ended without a Close frame), and
/// the frames each way (control frames included). Its bytes are the entry's <c>bytesIn</c> and <c>bytesOut</c>.
/// </summary>
internal sealed record WebSocketInfo(int? CloseStatus, string? ClosedBy, long FramesIn, long FramesOut)
{
    public const string Client = "client";
    public const string Backend = "backend";
}

/// <summary>
/// What a gRPC call's audit entry adds: the <c>grpc-status</c> and <c>grpc-message</c> the client was
/// answered with (null when it got none, e.g. it cancelled), and the length-prefixed messages that
/// passed whole each way.
/// </summary>
internal sealed record GrpcCall(int? Status, string? Message, long MessagesIn, long MessagesOut);

/// <summary>One try at forwarding: the endpoint, and why it failed (null for the attempt that answered).</summary>
internal sealed record UpstreamAttempt(string Destination, string? Error);

internal sealed record ClientEndpoint(string Ip, int Port);

/// <summary>The validated identity of a caller; never the token itself.</summary>
internal sealed record RequestIdentity
{
    public static RequestIdentity Anonymous { get; } = new();

    public bool Authenticated { get; init; }
    public string? Subject { get; init; }
    public string? Issuer { get; init; }
    public string? Audience { get; init; }
    public string? ClientId { get; init; }

    /// <summary>The configured audit claims, in configuration order; every value as a list of strings.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Claims { get; init; }
}

internal sealed record RouteRef
{
    public required string Id { get; init; }
    public required string Namespace { get; init; }
    public required string Ingress { get; init; }
    public required string Path { get; init; }
    public required string PathType { get; init; }
    public required string Service { get; init; }

    /// <summary>The backend port: a number or a port name, as written in the Ingress.</summary>
    public required string Port { get; init; }

    /// <summary>The chosen endpoint (<c>ip:port</c>); null when none was reached.</summary>
    public string? Destination { get; init; }
}

internal sealed record RequestDecision(Decision Decision, string? Rule, string? Reason);

internal sealed record TlsInfo(string? Sni, string Version);

// ---------------------------------------------------------------- config

[JsonConverter(typeof(JsonStringEnumConverter<ActorSource>))]
internal enum ActorSource
{
    [JsonStringEnumMemberName("admission")] Admission,
    [JsonStringEnumMemberName("audit-webhook")] AuditWebhook,
    [JsonStringEnumMemberName("managed-fields")] ManagedFields,
    [JsonStringEnumMemberName("file")] File,
}

[JsonConverter(typeof(JsonStringEnumConverter<ChangeSource>))]
internal enum ChangeSource
{
    [JsonStringEnumMemberName("kubectl")] Kubectl,
    [JsonStringEnumMemberName("helm")] Helm,
    [JsonStringEnumMemberName("argocd")] ArgoCD,
    [JsonStringEnumMemberName("flux")] Flux,
    [JsonStringEnumMemberName("controller")] Controller,
    [JsonStringEnumMemberName("file")] File,
    [JsonStringEnumMemberName("unknown")] Unknown,
}

/// <summary>One change to a routing input (applied or refused).</summary>
internal sealed record ConfigBody : AuditBody
{
    public override AuditKind Kind => AuditKind.Config;

    public required string RevisionBefore { get; init; }
    public required string RevisionAfter { get; init; }
    public required ObjectRef Object { get; init; }

    /// <summary>create, update, delete (or another verb the source reported).</summary>
    public required string Operation { get; init; }

    public required ChangeActor Actor { get; init; }
    public ChangeSource Source { get; init; } = ChangeSource.Unknown;

    /// <summary>The manifest file, in embedded mode.</summary>
    public FileRef? File { get; init; }

    /// <summary>RFC 6902 JSON Patch of spec, labels and annotations: a JSON array.</summary>
    public required JsonElement Diff { get; init; }

    public required RouteEffect Effect { get; init; }

    /// <summary>Validation errors when the change was refused; empty when it was applied.</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];
}

internal sealed record ObjectRef
{
    public required string Kind { get; init; }
    public string? Namespace { get; init; }
    public required string Name { get; init; }
    public string? Uid { get; init; }
    public string? ResourceVersion { get; init; }
    public long? Generation { get; init; }
}

internal sealed record ChangeActor
{
    public string? Username { get; init; }
    public IReadOnlyList<string> Groups { get; init; } = [];
    public IReadOnlyList<string> SourceIps { get; init; } = [];
    public string? UserAgent { get; init; }
    public required ActorSource Via { get; init; }
}

internal sealed record FileRef(string Path, string Sha256);

/// <summary>Route ids added, removed and changed by a config change.</summary>
internal sealed record RouteEffect
{
    public static RouteEffect None { get; } = new();

    public IReadOnlyList<string> Added { get; init; } = [];
    public IReadOnlyList<string> Removed { get; init; } = [];
    public IReadOnlyList<string> Changed { get; init; } = [];
}

// ---------------------------------------------------------------- security

[JsonConverter(typeof(JsonStringEnumConverter<SecurityAction>))]
internal enum SecurityAction
{
    [JsonStringEnumMemberName("blocked")] Blocked,
    [JsonStringEnumMemberName("unblocked")] Unblocked,
    [JsonStringEnumMemberName("admin")] Admin,
    [JsonStringEnumMemberName("key")] Key,
    [JsonStringEnumMemberName("unaudited")] Unaudited,
}

/// <summary>Blocks, unblocks, admin actions, key changes.</summary>
internal sealed record SecurityBody : AuditBody
{
    public override AuditKind Kind => AuditKind.Security;

    public required SecurityAction Action { get; init; }

    /// <summary>What the action is about: a client IP, an admin endpoint, a key id.</summary>
    public required string Subject { get; init; }

    /// <summary>Who or what did it: an admin identity or a detector name.</summary>
    public required string By { get; init; }

    public string? Reason { get; init; }

    /// <summary>When a block ends, if it does.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>Named facts that justify the action (counts, paths, rule ids), in insertion order.</summary>
    public IReadOnlyDictionary<string, string>? Evidence { get; init; }
}

// ---------------------------------------------------------------- lifecycle

[JsonConverter(typeof(JsonStringEnumConverter<LifecycleEvent>))]
internal enum LifecycleEvent
{
    [JsonStringEnumMemberName("start")] Start,
    [JsonStringEnumMemberName("stop")] Stop,
    [JsonStringEnumMemberName("recovery")] Recovery,
    [JsonStringEnumMemberName("resumed")] Resumed,
    [JsonStringEnumMemberName("pruned")] Pruned,
    [JsonStringEnumMemberName("redis-down")] RedisDown,
    [JsonStringEnumMemberName("redis-restored")] RedisRestored,
}

/// <summary>Start, clean stop, recovery after an unclean stop, the log writable again after an outage, a prune, and the shared Redis lost and back.</summary>
internal sealed record LifecycleBody : AuditBody
{
    public override AuditKind Kind => AuditKind.Lifecycle;

    public required LifecycleEvent Event { get; init; }

    /// <summary>The gateway's version.</summary>
    public string? Version { get; init; }

    /// <summary>Recovery: bytes cut from the torn tail.</summary>
    public long? TruncatedBytes { get; init; }

    /// <summary>Recovery: partial or unreadable lines cut from the tail.</summary>
    public int? TruncatedLines { get; init; }

    /// <summary>Recovery: the segment that was cut.</summary>
    public string? Segment { get; init; }

    /// <summary>Resumed: the time the log could not be written; absent from the line otherwise.</summary>
    public LogOutage? Outage { get; init; }

    /// <summary>Pruned: the local segments removed; absent from the line otherwise.</summary>
    public PrunedRange? Pruned { get; init; }

    /// <summary>redis-down and redis-restored: the time the shared Redis did not answer; absent from the line otherwise.</summary>
    public RedisOutage? Redis { get; init; }
}

/// <summary>A time the shared Redis did not answer (docs/replicas.md): <see cref="Until"/> is null in the redis-down entry.</summary>
internal sealed record RedisOutage
{
    public required DateTimeOffset Since { get; init; }

    public DateTimeOffset? Until { get; init; }

    public required string Reason { get; init; }
}

/// <summary>A time the log could not be written, recorded when it is writable again.</summary>
internal sealed record LogOutage
{
    public required DateTimeOffset Since { get; init; }
    public required DateTimeOffset Until { get; init; }

    /// <summary>What failed first (the step and the operating system's error).</summary>
    public required string Reason { get; init; }

    /// <summary>Requests answered 503 because the log could not be written.</summary>
    public long RefusedRequests { get; init; }

    /// <summary>Requests forwarded without an entry (<c>audit.onWriteFailure: serve</c>).</summary>
    public long UnauditedRequests { get; init; }

    /// <summary>Entries that could not be kept until the log was back.</summary>
    public long LostEntries { get; init; }
}

/// <summary>
/// Local segments pruned (<c>audit.retain.maxAge</c>): the seq range they held and the Merkle
/// frontier at its end (the roots of the perfect subtrees left to right, as hex), so the rest of the
/// log still verifies and proves against the same tree.
/// </summary>
internal sealed record PrunedRange
{
    public required long FromSeq { get; init; }

    /// <summary>The last pruned seq (inclusive).</summary>
    public required long ToSeq { get; init; }

    /// <summary>The segment files removed, by name.</summary>
    public required IReadOnlyList<string> Segments { get; init; }

    /// <summary>The frontier of the tree of size <see cref="ToSeq"/> + 1.</summary>
    public required IReadOnlyList<string> Frontier { get; init; }

    /// <summary>Whether each pruned segment was in the archive first.</summary>
    public bool Archived { get; init; }
}
