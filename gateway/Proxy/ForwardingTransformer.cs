using System.Globalization;
using Yarp.ReverseProxy.Forwarder;

namespace AuditGateway.Proxy;

/// <summary>
/// Copies the request as YARP does by default, which keeps the client's <c>Host</c> (as ingress
/// controllers do, for virtual-hosted backends), and sets the standard <c>X-Forwarded-*</c>
/// headers, replacing whatever the client sent in them. A traced request's <c>traceparent</c> (and
/// <c>tracestate</c>) is the gateway's span in place of the client's; otherwise the client's passes as sent.
/// </summary>
internal sealed class ForwardingTransformer : HttpTransformer
{
    public static readonly ForwardingTransformer Instance = new();

    private const string TraceParent = "traceparent";
    private const string TraceState = "tracestate";

    /// <summary>The headers the gateway writes itself; a client's own are dropped first.</summary>
    private static readonly string[] s_replaced =
        ["Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port", "X-Real-IP", "X-Request-ID"];

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        var request = httpContext.Request;
        var headers = proxyRequest.Headers;
        foreach (var name in s_replaced)
        {
            // Looking in the client's headers is cheaper than removing from the copy, and they rarely carry any.
            if (request.Headers.ContainsKey(name))
            {
                headers.Remove(name);
            }
        }

        var client = PeerText(httpContext);
        headers.TryAddWithoutValidation("X-Forwarded-For", client);
        headers.TryAddWithoutValidation("X-Real-IP", client);
        headers.TryAddWithoutValidation("X-Forwarded-Proto", request.Scheme);
        headers.TryAddWithoutValidation("X-Forwarded-Host", request.Host.Value);
        headers.TryAddWithoutValidation("X-Forwarded-Port", httpContext.Connection.LocalPort.ToString(CultureInfo.InvariantCulture));
        headers.TryAddWithoutValidation("X-Request-ID", httpContext.TraceIdentifier);
        if (httpContext.Features.Get<RequestRecord>() is { } record && (record.ClientSpan ?? record.Span) is { } span)
        {
            // Traced: the backend's parent is this attempt's CLIENT span, never also the client's own header.
            headers.Remove(TraceParent);
            headers.Remove(TraceState);
            headers.TryAddWithoutValidation(TraceParent, span.Id);
            if (span.TraceStateString is { } state)
            {
                headers.TryAddWithoutValidation(TraceState, state);
            }
        }
    }

    /// <summary>The connection peer's address, reusing the request's client text when the peer is the client.</summary>
    private static string PeerText(HttpContext httpContext)
    {
        var peer = httpContext.Connection.RemoteIpAddress;
        if (peer is null)
        {
            return "";
        }

        return httpContext.Features.Get<RequestRecord>()?.Client is { } client && ReferenceEquals(client.Ip, peer)
            ? client.IpText
            : peer.ToString();
    }
}
