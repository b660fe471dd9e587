using System.Collections.Concurrent;
using System.Net;

using BadHttpRequestException = Microsoft.AspNetCore.Http.BadHttpRequestException;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using AuditGateway.Audit;
using AuditGateway.Audit.Entries;
using AuditGateway.Routing;

namespace AuditGateway.Proxy;

/// <summary>
/// Audits the requests Kestrel refuses before the proxy sees them: oversized or too many headers
/// (431), a bad or missing <c>Host</c>, a malformed request line or target, an unsupported version
/// (400/505…). Kestrel reports each as a <c>ConnectionBadRequest</c> event (id 17) on the
/// <c>Microsoft.AspNetCore.Server.Kestrel.BadRequests</c> logger with the connection id and a
/// <see cref="BadHttpRequestException"/>; this provider receives that event and writes a
/// <c>request</c> entry: decision <c>deny</c>, rule <c>bad-request</c>, Kestrel's reason, the status
/// Kestrel sent, and the connection peer as the client (headers of a malformed request are not
/// believed, so there is no forwarded chain). Method, host and path are left empty: Kestrel does not
/// say how far it parsed. The peer comes from the connection middleware registered by <see cref="Track"/>.
/// </summary>
internal sealed class RejectedRequestAuditor(IServiceProvider services) : ILoggerProvider
{
    public const string Category = "Microsoft.AspNetCore.Server.Kestrel.BadRequests";
    public const string Rule = "bad-request";
    private const int ConnectionBadRequestEventId = 17;

    private readonly ConcurrentDictionary<string, (IPEndPoint? Peer, string Scheme)> _connections = new(StringComparer.Ordinal);

    /// <summary>Connections currently tracked (for tests).</summary>
    internal int TrackedConnections => _connections.Count;

    /// <summary>Remembers the peer of every connection on <paramref name="listen"/> while it is open.</summary>
    public void Track(ListenOptions listen, string scheme) => listen.Use(next => async connection =>
    {
        _connections[connection.ConnectionId] = (connection.RemoteEndPoint as IPEndPoint, scheme);
        try
        {
            await next(connection);
        }
        finally
        {
            _connections.TryRemove(connection.ConnectionId, out _);
        }
    });

    public ILogger CreateLogger(string categoryName) =>
        categoryName == Category ? new BadRequestLogger(this) : NullLogger.Instance;

    public void Dispose()
    {
    }

    private void Record(string connectionId, BadHttpRequestException exception)
    {
        if (!_connections.TryGetValue(connectionId, out var connection))
        {
            return;
        }

        var peer = connection.Peer;
        var audit = services.GetRequiredService<IAuditLog>();
        var time = services.GetRequiredService<TimeProvider>();
        var revision = services.GetRequiredService<RoutingState>().Current.Revision;
        var body = new RequestBody
        {
            Id = connectionId + ":rejected",
            Method = "",
            Scheme = connection.Scheme,
            Host = "",
            Path = "",
            Protocol = "",
            Client = new ClientEndpoint(peer is null ? "" : Policy.IpAddresses.Normalize(peer.Address).ToString(), peer?.Port ?? 0),
            Identity = RequestIdentity.Anonymous,
            Revision = revision,
            Decision = new RequestDecision(Decision.Deny, Rule, "rejected by the HTTP server: " + exception.Message),
            Status = exception.StatusCode,
        };

        // Called on Kestrel's connection thread: queue like a request entry, never wait on disk.
        var pending = audit.EnqueueAsync(new AuditEntry(time.GetUtcNow(), body), CancellationToken.None);
        if (!pending.IsCompletedSuccessfully)
        {
            _ = pending.AsTask();
        }
    }

    private sealed class BadRequestLogger(RejectedRequestAuditor owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id != ConnectionBadRequestEventId || exception is not BadHttpRequestException bad
                || state is not IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                return;
            }

            foreach (var (key, value) in values)
            {
                if (key == "ConnectionId" && value is string connectionId)
                {
                    owner.Record(connectionId, bad);
                    return;
                }
            }
        }
    }

    private sealed class NullLogger : ILogger
    {
        public static readonly NullLogger Instance = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => false;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
        }
    }
}
