using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;
using AuditGateway.Audit;
using AuditGateway.Audit.Entries;
using AuditGateway.Policy;
using AuditGateway.Routing;
using AuditGateway.Telemetry;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;

namespace AuditGateway.Proxy;

/// <summary>
/// The data plane. For each request, cheapest checks first: the block list, hostile spellings
/// of the path, the route (Ingress v1 matching on the table in force), the policy (address
/// lists, methods, rate limits, JWT, claims); then a redirect to HTTPS, the gateway's own
/// 404/503, or forwarding to one ready endpoint with YARP's forwarder: round robin over the endpoints
/// <see cref="DestinationHealth"/> is not skipping (all of them if it skips every one). An endpoint
/// that refuses the connection or resets it before answering is skipped for a while, and the request
/// is retried once on another, not skipped, endpoint when that is safe: a GET, HEAD or OPTIONS, or a
/// request without a body. Otherwise the client gets the forwarder's 502 with the reason in
/// <c>X-AuditGateway-Reason</c>. Every request, allowed or not, ends as one audit entry (listing each
/// attempt when there was more than one or one failed), and feeds the probe detector; none is
/// forwarded while the log cannot be written (<see cref="AuditGate"/>). A WebSocket is checked at its
/// upgrade and forwarded by YARP as a tunnel that <see cref="UpgradedTunnel"/> follows; its entry is
/// written when the tunnel closes, with the table and route it was opened with.
/// </summary>
internal sealed partial class ProxyMiddleware(
    RoutingState state,
    IHttpForwarder forwarder,
    HttpMessageInvoker invoker,
    ListenerPorts ports,
    PolicyEngine policy,
    ClientAddressResolver resolver,
    IBlockList blocks,
    IAuditLog audit,
    QueryRedactor redactor,
    TimeProvider time,
    ILogger<ProxyMiddleware> logger,
    AuditGate gate,
    DestinationHealth health,
    RequestMetrics metrics,
    RequestTracing tracing,
    ProbeDetector? probes = null)
{
    private static readonly ForwarderRequestConfig RequestConfig = new() { ActivityTimeout = TimeSpan.FromSeconds(60) };

    /// <summary>
    /// GRPC, GRPCS and H2C backends: HTTP/2 and nothing else, so prior knowledge (h2c) over <c>http://</c>
    /// and ALPN <c>h2</c> over <c>https://</c>; never a fall back to HTTP/1.1, which cannot carry gRPC's trailers.
    /// </summary>
    private static readonly ForwarderRequestConfig Http2Config = RequestConfig with
    {
        Version = HttpVersion.Version20,
        VersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    /// <summary>A backslash and what <see cref="char.IsControl(char)"/> calls control characters (C0, DEL, C1).</summary>
    private static readonly SearchValues<char> s_backslashOrControl = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Select(c => (char)c), .. Enumerable.Range(0x7f, 0x21).Select(c => (char)c), '\\']);

    private int _roundRobin;

    public Task InvokeAsync(HttpContext context) => gate.Refuses ? gate.RefuseAsync(context) : ProxyAsync(context);

    private async Task ProxyAsync(HttpContext context)
    {
        var connection = context.Connection;
        var client = resolver.Resolve(connection.RemoteIpAddress ?? IPAddress.IPv6None, connection.RemotePort, context.Request.Headers);
        var record = new RequestRecord(time.GetTimestamp(), state.Current, client)
        {
            Span = tracing.StartServer(context),
            IsGrpcCall = GrpcProtocol.IsCall(context.Request),
        };
        context.Features.Set(record);
        try
        {
            // Forwarding is awaited here rather than in a method of its own: one state machine per request.
            if (await DecideAsync(context, record) is { } route)
            {
                var destinations = route.Backend.DestinationPrefixes;
                var config = route.Backend.Protocol is BackendProtocol.Grpc or BackendProtocol.Grpcs or BackendProtocol.H2c ? Http2Config : RequestConfig;
                var index = health.Choose(destinations, (int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)destinations.Count));
                CountBodies(context, record);
                record.Tunnel = UpgradedTunnel.Watch(context);
                var upstreamStart = time.GetTimestamp();
                ForwarderError error;
                for (var attempt = 0; ; attempt++)
                {
                    record.DestinationIndex = index;
                    var destination = destinations[index];
                    record.ClientSpan = tracing.StartClient(record.Span, context.Request.Method, destination, attempt);
                    error = await forwarder.SendAsync(context, destination, invoker, config, ForwardingTransformer.Instance);
                    RequestTracing.EndClient(record.ClientSpan, context.Response.StatusCode, error == ForwarderError.None ? null : error.ToString());
                    record.ClientSpan = null;
                    if (error == ForwarderError.None)
                    {
                        health.Succeeded(destination);
                        record.UpstreamError = null;
                        if (attempt > 0)
                        {
                            record.AddAttempt(index, null);
                        }

                        break;
                    }

                    var failure = context.Features.Get<IForwarderErrorFeature>()?.Exception;
                    record.UpstreamError = Describe(error, failure);
                    record.AddAttempt(index, record.UpstreamError);
                    LogUpstreamError(logger, route.Id, destination, error, failure?.Message ?? "");

                    // Refused, or reset before any response: the endpoint is down, not the request wrong.
                    if (error != ForwarderError.Request || context.Response.HasStarted)
                    {
                        break;
                    }

                    health.Failed(destination);
                    if (attempt > 0 || !Retryable(context, record) || health.Choose(destinations, index + 1, exclude: index) is not (>= 0 and var next))
                    {
                        break;
                    }

                    // Undo what the forwarder set for its 502, so the next attempt starts clean.
                    context.Response.StatusCode = StatusCodes.Status200OK;
                    context.Features.Set<IForwarderErrorFeature>(null);
                    index = next;
                }

                record.UpstreamMicroseconds = (long)time.GetElapsedTime(upstreamStart).TotalMicroseconds;
                if (error != ForwarderError.None && !context.Response.HasStarted)
                {
                    // YARP answers its 502/504 with no body; say why, as the gateway's own 404/503 do.
                    var why = $"backend {route.Backend.Destinations[index]} failed: {record.UpstreamError}";
                    var reason = HeaderSafe(
                        error == ForwarderError.Request && !Retryable(context, record) ? why + " (not retried: the request has a body and is not idempotent)" : why);
                    context.Response.Headers["X-AuditGateway-Reason"] = reason;
                    if (record.IsGrpcCall)
                    {
                        GrpcProtocol.AnswerOwn(context.Response, context.Response.StatusCode, reason);
                    }
                }
            }
        }
        finally
        {
            var latency = (long)time.GetElapsedTime(record.StartedAt).TotalMicroseconds;
            var status = context.Response.StatusCode;
            metrics.Record(record.Route, status, record.Decision.Outcome, record.Decision.Rule, latency, record.UpstreamMicroseconds);
            RequestTracing.EndServer(record.Span, status, record.Decision.Outcome, record.Decision.Rule);
            await audit.EnqueueAsync(new AuditEntry(time.GetUtcNow(), record.ToEntry(context, redactor, latency)), CancellationToken.None);
            if (!record.RefusedAsBlocked)
            {
                probes?.Observe(client.Ip, context.Request.Path.Value ?? "/", context.Response.StatusCode, routeless: record.Route is null);
            }
        }
    }

    /// <summary>
    /// Every check before forwarding, in order. The route to forward to, or null when the gateway
    /// answered the request itself. Completes at once unless a JWT's keys must be fetched.
    /// </summary>
    private async ValueTask<IngressRoute?> DecideAsync(HttpContext context, RequestRecord record)
    {
        var request = context.Request;
        if (blocks.IsBlocked(record.Client.Ip, out var block))
        {
            record.RefusedAsBlocked = true;
            record.Decision = PolicyDecision.Deny(StatusCodes.Status403Forbidden, "probe-block", $"client blocked by {block!.Detector} until {block.ExpiresAt:O}");
            await Reply(context, record, StatusCodes.Status403Forbidden, "this client is blocked");
            return null;
        }

        if (HostileTarget(request) is { } hostile)
        {
            record.Decision = PolicyDecision.Deny(StatusCodes.Status400BadRequest, "hostile-request", hostile);
            await Reply(context, record, StatusCodes.Status400BadRequest, hostile);
            return null;
        }

        var path = request.Path.Value ?? "/";
        var route = record.Table.Matcher.Match(request.Host.Host, path);
        record.Route = route;
        RequestTracing.Routed(record.Span, request.Method, route?.Id, route?.Path);
        var decision = await policy.EvaluateAsync(request, record.Client, route, context.RequestAborted);

        // Another spelling of a path (case) must not dodge a stricter rule: evaluate the route
        // the path matches case-insensitively as well, and take its denial.
        if (!decision.Denies && record.Table.Matcher.MatchIgnoringCase(request.Host.Host, path) is { } alias && alias != route && alias.Policy is not null)
        {
            var aliasDecision = await policy.EvaluateAsync(request, record.Client, alias, context.RequestAborted);
            if (aliasDecision.Denies)
            {
                decision = aliasDecision with { Reason = $"{aliasDecision.Reason} (path matches {alias.Path} ignoring case)" };
            }
        }

        record.Decision = decision;
        if (decision.Denies)
        {
            if (decision.Header is { } header)
            {
                context.Response.Headers[header.Key] = header.Value;
            }

            await Reply(context, record, decision.Status, decision.Reason ?? "denied");
            return null;
        }

        if (route is null)
        {
            const string NoRoute = "no route matches this host and path";
            record.Decision = decision with { Rule = "no-route", Reason = NoRoute };
            await Reply(context, record, StatusCodes.Status404NotFound, NoRoute);
            return null;
        }

        if (route.SslRedirect && !request.IsHttps)
        {
            RedirectToHttps(context);
            return null;
        }

        if (route.Backend.DestinationPrefixes.Count == 0)
        {
            // The log says why the gateway answered 503 itself, as the response header does.
            record.UpstreamError = route.Backend.Unavailable ?? "no destination";
            await Reply(context, record, StatusCodes.Status503ServiceUnavailable, record.UpstreamError);
            return null;
        }

        return route;
    }

    /// <summary>The error and its message, with the innermost cause when it says more (a reset socket under "error while sending").</summary>
    private static string Describe(ForwarderError error, Exception? failure)
    {
        if (failure is null)
        {
            return error.ToString();
        }

        var cause = failure.GetBaseException();
        return cause == failure || failure.Message.Contains(cause.Message, StringComparison.Ordinal)
            ? $"{error}: {failure.Message}"
            : $"{error}: {failure.Message} ({cause.Message})";
    }

    /// <summary>
    /// Whether a request may be sent again after an attempt that got no response: one without a
    /// body (Content-Length 0 or absent, not chunked), or a GET, HEAD or OPTIONS none of whose body was read.
    /// </summary>
    private static bool Retryable(HttpContext context, RequestRecord record)
    {
        var request = context.Request;
        if (request.ContentLength == 0 || context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == false)
        {
            return true;
        }

        // An idempotent method may carry a body: retried only if no byte of it was read yet.
        return (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method))
            && record.BodyIn is not { Count: > 0 };
    }

    /// <summary>
    /// Counts the bytes of the bodies as they are forwarded. A request that cannot have a body
    /// (no Content-Length, not chunked) has none to count.
    /// </summary>
    private static void CountBodies(HttpContext context, RequestRecord record)
    {
        var request = context.Request;
        if (context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody != false)
        {
            record.BodyIn = new CountingStream(request.Body, reading: true, record.IsGrpcCall);
            request.Body = record.BodyIn;
        }

        record.BodyOut = new CountingStream(context.Response.Body, reading: false, record.IsGrpcCall);
        context.Response.Body = record.BodyOut;
    }

    /// <summary>
    /// Paths the gateway refuses rather than guess how a backend would read them: an encoded
    /// <c>/</c> or <c>\</c> (the gateway and a backend could split the path differently), a raw
    /// backslash, or control characters. Dot segments, also encoded, are resolved by the server
    /// before matching.
    /// </summary>
    private static string? HostileTarget(HttpRequest request)
    {
        // An ingress is not a forward proxy: a plain CONNECT (authority-form target) would otherwise be
        // routed on an empty path and tunnelled to a backend. HTTP/2 extended CONNECT (WebSockets) is fine.
        if (HttpMethods.IsConnect(request.Method) && request.HttpContext.Features.Get<IHttpExtendedConnectFeature>()?.IsExtendedConnect != true)
        {
            return "CONNECT is not supported";
        }

        var path = request.Path.Value;
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        if (path.Contains("%2F", StringComparison.OrdinalIgnoreCase) || path.Contains("%5C", StringComparison.OrdinalIgnoreCase))
        {
            return "the path contains an encoded '/' or '\\'";
        }

        if (path.AsSpan().ContainsAny(s_backslashOrControl))
        {
            return "the path contains a backslash or a control character";
        }

        if (path.Contains("//", StringComparison.Ordinal))
        {
            return "the path contains an empty segment ('//')";
        }

        return null;
    }

    private void RedirectToHttps(HttpContext context)
    {
        var request = context.Request;
        // No port in Host: the client used the default port, so send it to 443. With a port,
        // send it to this gateway's HTTPS listener.
        var host = request.Host.Port is null || ports.Https is null or 443
            ? request.Host.Host
            : $"{request.Host.Host}:{ports.Https.Value.ToString(CultureInfo.InvariantCulture)}";
        context.Response.StatusCode = StatusCodes.Status308PermanentRedirect;
        context.Response.Headers.Location = $"https://{host}{request.PathBase}{request.Path}{request.QueryString}";
    }

    private static Task Reply(HttpContext context, RequestRecord record, int status, string reason)
    {
        var safe = HeaderSafe(reason);
        context.Response.StatusCode = status;
        context.Response.Headers["X-AuditGateway-Reason"] = safe;
        if (record.IsGrpcCall)
        {
            // A gRPC client gets the reason as its status, in a response without a body (trailers-only).
            GrpcProtocol.AnswerOwn(context.Response, status, safe);
            return Task.CompletedTask;
        }

        var body = $"{status} {Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status)}: {reason}\n";
        record.GatewayBytesOut = Encoding.UTF8.GetByteCount(body);
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(body);
    }

    private static string HeaderSafe(string text) => string.Create(text.Length, text, static (span, source) =>
    {
        for (var i = 0; i < source.Length; i++)
        {
            span[i] = source[i] is >= ' ' and < (char)127 ? source[i] : '?';
        }
    });

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Route}: forwarding to {Destination} failed: {Error} {Reason}")]
    private static partial void LogUpstreamError(ILogger logger, string route, string destination, ForwarderError error, string reason);
}
