using System.Diagnostics;
using System.Globalization;
using AuditGateway.Policy;
using Microsoft.Net.Http.Headers;

namespace AuditGateway.Telemetry;

/// <summary>
/// Spans of the HTTP semantic conventions: a SERVER span per request, named <c>{method} {route id}</c>
/// once the route is known, continuing the client's <c>traceparent</c>; a CLIENT span per attempt to
/// forward it. Only when <c>telemetry.otlpEndpoint</c> is set; sampling is the SDK's (parent-based,
/// <c>telemetry.traceSampleRatio</c> for roots). Without an endpoint nothing here runs: no span, no
/// header parsed. The spans are passed along explicitly, so the forwarder's own activity machinery
/// stays off (the gateway writes the one <c>traceparent</c> the backend gets).
/// </summary>
internal sealed class RequestTracing : IDisposable
{
    public const string SourceName = "AuditGateway";

    private readonly ActivitySource? _source;

    public RequestTracing(TelemetryOptions options)
    {
        _source = options.OtlpEndpoint is null ? null : new ActivitySource(SourceName, typeof(RequestTracing).Assembly.GetName().Version?.ToString());
    }

    /// <summary>True when spans may be made (an OTLP endpoint is set).</summary>
    public bool Enabled => _source is not null;

    /// <summary>The request's SERVER span, or null (tracing off, or the sampler dropped it outright).</summary>
    public Activity? StartServer(HttpContext context)
    {
        if (_source is null || !_source.HasListeners())
        {
            return null;
        }

        var request = context.Request;
        var headers = request.Headers;
        ActivityContext.TryParse(headers[HeaderNames.TraceParent], headers[HeaderNames.TraceState], isRemote: true, out var parent);
        var span = _source.StartActivity(request.Method, ActivityKind.Server, parent);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("http.request.method", request.Method);
            span.SetTag("url.scheme", request.Scheme);
            span.SetTag("url.path", request.Path.Value);
            span.SetTag("server.address", request.Host.Host);
            span.SetTag("network.protocol.version", ProtocolVersion(request.Protocol));
            span.SetTag("client.address", context.Connection.RemoteIpAddress?.ToString());
            if (headers.UserAgent.Count > 0)
            {
                span.SetTag("user_agent.original", headers.UserAgent.ToString());
            }
        }

        return span;
    }

    /// <summary>Names the span after the route (<c>{method} {route id}</c>) once it is matched.</summary>
    public static void Routed(Activity? span, string method, string? routeId, string? path)
    {
        if (span is { IsAllDataRequested: true } && routeId is not null)
        {
            span.DisplayName = method + " " + routeId;
            span.SetTag("http.route", path);
            span.SetTag("auditgw.route.id", routeId);
        }
    }

    /// <summary>Ends the SERVER span with the response status and the policy's decision.</summary>
    public static void EndServer(Activity? span, int status, DecisionOutcome decision, string? rule)
    {
        if (span is null)
        {
            return;
        }

        if (span.IsAllDataRequested)
        {
            span.SetTag("http.response.status_code", status);
            span.SetTag("auditgw.decision", decision switch
            {
                DecisionOutcome.Deny => "deny",
                DecisionOutcome.WouldDeny => "would-deny",
                _ => "allow",
            });
            if (rule is not null)
            {
                span.SetTag("auditgw.rule", rule);
            }

            if (status >= 500)
            {
                span.SetTag("error.type", status.ToString(CultureInfo.InvariantCulture));
                span.SetStatus(ActivityStatusCode.Error);
            }
        }

        span.Stop();
    }

    /// <summary>A CLIENT span for one attempt to forward (null when the request is not traced).</summary>
    public Activity? StartClient(Activity? server, string method, string destinationPrefix, int attempt)
    {
        if (_source is null || server is null)
        {
            return null;
        }

        var span = _source.StartActivity(method, ActivityKind.Client, server.Context);
        if (span is { IsAllDataRequested: true })
        {
            var uri = new Uri(destinationPrefix);
            span.SetTag("http.request.method", method);
            span.SetTag("server.address", uri.Host);
            span.SetTag("server.port", uri.Port);
            span.SetTag("url.full", destinationPrefix);
            if (attempt > 0)
            {
                span.SetTag("http.request.resend_count", attempt);
            }
        }

        return span;
    }

    /// <summary>Ends a CLIENT span with the backend's status, or the forwarder's error.</summary>
    public static void EndClient(Activity? span, int status, string? error)
    {
        if (span is null)
        {
            return;
        }

        if (span.IsAllDataRequested)
        {
            if (error is null)
            {
                span.SetTag("http.response.status_code", status);
            }
            else
            {
                span.SetTag("error.type", error);
                span.SetStatus(ActivityStatusCode.Error, error);
            }
        }

        span.Stop();
    }

    public void Dispose() => _source?.Dispose();

    private static string ProtocolVersion(string protocol) => protocol switch
    {
        "HTTP/1.1" => "1.1",
        "HTTP/2" => "2",
        "HTTP/3" => "3",
        "HTTP/1.0" => "1.0",
        _ => protocol,
    };
}
