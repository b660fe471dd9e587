using System.Diagnostics;
using System.Globalization;
using AuditGateway.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace AuditGateway.Proxy;

/// <summary>What the gateway decided for a request: the table in force and the route matched.</summary>
internal sealed class RouteFeature
{
    public required RouteTable Table { get; init; }

    public IngressRoute? Route { get; init; }

    public string? Destination { get; set; }

    public ForwarderError Error { get; set; }
}

/// <summary>
/// The data plane's last step: match the request against the table in force, then redirect
/// to HTTPS, answer 404/503 from the gateway, or forward to one ready endpoint (round robin)
/// with YARP's forwarder. Ends the pipeline.
/// </summary>
internal sealed partial class ProxyMiddleware(
    RoutingState state,
    IHttpForwarder forwarder,
    HttpMessageInvoker invoker,
    ListenerPorts ports,
    ILogger<ProxyMiddleware> logger)
{
    private static readonly ForwarderRequestConfig RequestConfig = new() { ActivityTimeout = TimeSpan.FromSeconds(60) };
    private int _roundRobin;

    public async Task InvokeAsync(HttpContext context)
    {
        var table = state.Current;
        var request = context.Request;
        var route = table.Matcher.Match(request.Host.Host, request.Path.Value ?? "/");
        var feature = new RouteFeature { Table = table, Route = route };
        context.Features.Set(feature);

        if (route is null)
        {
            await Reply(context, StatusCodes.Status404NotFound, "no route matches this host and path");
            return;
        }

        if (route.SslRedirect && !request.IsHttps)
        {
            RedirectToHttps(context);
            return;
        }

        var destinations = route.Backend.DestinationPrefixes;
        if (destinations.Count == 0)
        {
            await Reply(context, StatusCodes.Status503ServiceUnavailable, route.Backend.Unavailable ?? "no destination");
            return;
        }

        var index = (uint)Interlocked.Increment(ref _roundRobin) % (uint)destinations.Count;
        var destination = destinations[(int)index];
        feature.Destination = destination;
        var error = await forwarder.SendAsync(context, destination, invoker, RequestConfig, ForwardingTransformer.Instance);
        feature.Error = error;
        if (error != ForwarderError.None)
        {
            var failure = context.Features.Get<IForwarderErrorFeature>()?.Exception;
            LogUpstreamError(logger, route.Id, destination, error, failure?.Message ?? "");
        }
    }

    private void RedirectToHttps(HttpContext context)
    {
        var request = context.Request;
        // No port in Host: the client used the default port, so send it to 443. With a port,
        // send it to this gateway's HTTPS listener.
        var host = request.Host.Port is null || ports.Https is null or 443
            ? request.Host.Host
            : $"{request.Host.Host}:{ports.Https.Value.ToString(CultureInfo.InvariantCulture)}";
        var location = $"https://{host}{request.PathBase}{request.Path}{request.QueryString}";
        context.Response.StatusCode = StatusCodes.Status308PermanentRedirect;
        context.Response.Headers.Location = location;
    }

    private static Task Reply(HttpContext context, int status, string reason)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers["X-AuditGateway-Reason"] = reason;
        return context.Response.WriteAsync($"{status} {ReasonPhrase(status)}: {reason}\n");
    }

    private static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Route}: forwarding to {Destination} failed: {Error} {Reason}")]
    private static partial void LogUpstreamError(ILogger logger, string route, string destination, ForwarderError error, string reason);
}
