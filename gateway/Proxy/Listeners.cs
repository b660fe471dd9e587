using System.Net;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AuditGateway.Proxy;

/// <summary>Which listener a connection arrived on.</summary>
internal enum ListenerKind
{
    Http,
    Https,
    Admin,
}

/// <summary>
/// The three listeners. Each connection is tagged with its listener before any request on it
/// is read, so the admin API is told apart from the proxy without a race at start-up; the
/// ports are read from Kestrel's bound endpoints (the real ones when port 0 was asked for).
/// </summary>
internal sealed class ListenerPorts
{
    private const string ItemKey = "auditgw.listener";
    private readonly Dictionary<ListenerKind, ListenOptions> _listeners = [];

    public int? Http => Port(ListenerKind.Http);

    public int? Https => Port(ListenerKind.Https);

    public int? Admin => Port(ListenerKind.Admin);

    public static bool IsOn(HttpContext context, ListenerKind kind) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(ItemKey, out var value) == true
        && value is ListenerKind tagged
        && tagged == kind;

    /// <summary>Remembers the listener and tags its connections.</summary>
    public void Register(ListenerKind kind, ListenOptions listen)
    {
        _listeners[kind] = listen;
        listen.Use(next => connection =>
        {
            connection.Items[ItemKey] = kind;
            return next(connection);
        });
    }

    private int? Port(ListenerKind kind) =>
        _listeners.TryGetValue(kind, out var listen) && listen.EndPoint is IPEndPoint { Port: > 0 } bound ? bound.Port : null;
}
