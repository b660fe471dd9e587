using System.Globalization;
using AuditGateway.Audit.Entries;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace AuditGateway.Proxy;

/// <summary>
/// What the gateway knows of gRPC (the gRPC over HTTP/2 protocol, not any gRPC library): which
/// requests are gRPC calls, the <c>grpc-status</c> and <c>grpc-message</c> a client was answered
/// with, and the status for an answer the gateway gives itself.
/// </summary>
internal static class GrpcProtocol
{
    /// <summary>The most characters of a <c>grpc-message</c> an entry keeps; a longer one is cut and ends with "…".</summary>
    public const int MostMessageChars = 256;

    private const string StatusHeader = "grpc-status";
    private const string MessageHeader = "grpc-message";
    private const string ContentType = "application/grpc";

    /// <summary>
    /// A gRPC call: content type <c>application/grpc</c>, <c>application/grpc+proto</c> and the like.
    /// gRPC-Web (<c>application/grpc-web</c>) is not: its status travels in the body.
    /// </summary>
    public static bool IsCall(HttpRequest request)
    {
        var type = request.ContentType;
        return type is not null
            && type.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase)
            && (type.Length == ContentType.Length || type[ContentType.Length] is '+' or ';');
    }

    /// <summary>
    /// The call's entry part: the status and message from the response trailers, or from the headers
    /// of a trailers-only response, and the messages counted each way.
    /// </summary>
    public static GrpcCall Outcome(HttpContext context, CountingStream? bodyIn, CountingStream? bodyOut)
    {
        var trailers = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers;
        var headers = context.Response.Headers;
        var status = Value(trailers, headers, StatusHeader);
        var message = Value(trailers, headers, MessageHeader);
        return new GrpcCall(
            int.TryParse(status, NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : null,
            message is null ? null : Bounded(Uri.UnescapeDataString(message)),
            bodyIn?.Messages ?? 0,
            bodyOut?.Messages ?? 0);
    }

    /// <summary>
    /// Makes an answer of the gateway's own a gRPC one: the HTTP status stays (it is what the entry
    /// records), and <c>grpc-status</c> and <c>grpc-message</c> in the headers, which a gRPC client reads
    /// before the HTTP status, tell the client why in its own terms.
    /// </summary>
    /// <param name="reason">Printable ASCII (the <c>X-AuditGateway-Reason</c> text).</param>
    public static void AnswerOwn(HttpResponse response, int httpStatus, string reason)
    {
        response.ContentType = ContentType;
        response.Headers[StatusHeader] = StatusFor(httpStatus).ToString(CultureInfo.InvariantCulture);
        response.Headers[MessageHeader] = reason.Replace("%", "%25", StringComparison.Ordinal);
    }

    /// <summary>The gRPC status the gRPC specification maps an HTTP status to (doc/http-grpc-status-mapping.md).</summary>
    public static int StatusFor(int httpStatus) => httpStatus switch
    {
        400 => 13, // INTERNAL
        401 => 16, // UNAUTHENTICATED
        403 => 7, // PERMISSION_DENIED
        404 => 12, // UNIMPLEMENTED
        429 or 502 or 503 or 504 => 14, // UNAVAILABLE
        _ => 2, // UNKNOWN
    };

    private static string? Value(IHeaderDictionary? trailers, IHeaderDictionary headers, string name) =>
        trailers is not null && trailers.TryGetValue(name, out var trailer) && !StringValues.IsNullOrEmpty(trailer) ? trailer.ToString()
        : headers.TryGetValue(name, out var header) && !StringValues.IsNullOrEmpty(header) ? header.ToString()
        : null;

    private static string Bounded(string message)
    {
        if (message.Length <= MostMessageChars)
        {
            return message;
        }

        // Not between the halves of a surrogate pair.
        var cut = MostMessageChars - 1;
        if (char.IsHighSurrogate(message[cut - 1]))
        {
            cut--;
        }

        return string.Concat(message.AsSpan(0, cut), "…");
    }
}
