using System.Globalization;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace AuditGateway.Proxy;

/// <summary>
/// Copies the request as YARP does by default, keeps the client's <c>Host</c> (as ingress
/// controllers do, for virtual-hosted backends) and sets the standard <c>X-Forwarded-*</c>
/// headers, replacing whatever the client sent in them.
/// </summary>
internal sealed class ForwardingTransformer : HttpTransformer
{
    public static readonly ForwardingTransformer Instance = new();

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        var request = httpContext.Request;
        var headers = proxyRequest.Headers;
        headers.Host = request.Host.Value;
        headers.Remove("Forwarded");
        headers.Remove("X-Forwarded-For");
        headers.Remove("X-Forwarded-Proto");
        headers.Remove("X-Forwarded-Host");
        headers.Remove("X-Forwarded-Port");
        headers.Remove("X-Real-IP");
        headers.Remove("X-Request-ID");
        var client = httpContext.Connection.RemoteIpAddress?.ToString() ?? "";
        headers.TryAddWithoutValidation("X-Forwarded-For", client);
        headers.TryAddWithoutValidation("X-Real-IP", client);
        headers.TryAddWithoutValidation("X-Forwarded-Proto", request.Scheme);
        headers.TryAddWithoutValidation("X-Forwarded-Host", request.Host.Value);
        headers.TryAddWithoutValidation("X-Forwarded-Port", httpContext.Connection.LocalPort.ToString(CultureInfo.InvariantCulture));
        headers.TryAddWithoutValidation("X-Request-ID", httpContext.TraceIdentifier);
    }
}
