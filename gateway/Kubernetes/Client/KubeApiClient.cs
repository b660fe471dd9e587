using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using AuditGateway.Kubernetes.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace AuditGateway.Kubernetes.Client;

/// <summary>An API error: the HTTP status (or a watch ERROR event's code) and the server's Status.</summary>
internal sealed class KubeApiException(int statusCode, Status? status, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;
    public Status? Status { get; } = status;

    /// <summary>410 Gone / reason Expired: the resourceVersion or continue token is too old; relist.</summary>
    public bool IsExpired => StatusCode == 410 || Status?.Reason is "Expired" or "Gone";
    public bool IsConflict => StatusCode == 409 && Status?.Reason != "AlreadyExists";
    public bool IsAlreadyExists => StatusCode == 409 && Status?.Reason == "AlreadyExists";
    public bool IsNotFound => StatusCode == 404;
}

internal sealed record ListOptions(int? Limit = null, string? Continue = null, string? ResourceVersion = null, string? FieldSelector = null, string? LabelSelector = null);

internal sealed record WatchOptions(string ResourceVersion, bool AllowBookmarks = true, int? TimeoutSeconds = null, string? FieldSelector = null, string? LabelSelector = null);

/// <summary>One page of a list; items have kind and apiVersion filled in (the server omits them).</summary>
internal sealed record KubeList(string? ResourceVersion, string? Continue, IReadOnlyList<JsonObject> Items);

/// <summary>
/// The minimal Kubernetes API client: the CA from the config is the only trust anchor, a bearer
/// token (static, from a file, or from an exec plugin) is added to each request, JSON is
/// source-generated. List pages, watch streams, and get/create/update/update-status/delete for
/// typed objects.
/// </summary>
internal sealed partial class KubeApiClient : IDisposable
{
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;
    private readonly KubeClientConfig _config;
    private readonly ConnectionTracker? _connections;
    private readonly ILogger _logger;

    public KubeApiClient(KubeClientConfig config, ILogger? logger = null)
    {
        _config = config;
        _logger = logger ?? NullLogger.Instance;
        if (config.Exec is { } exec)
        {
            _connections = new ConnectionTracker();
            exec.Replaced += OnCredentialReplaced;
        }

        _http = new HttpClient(KubeHttpHandler.Create(config, _connections)) { BaseAddress = config.Server, Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("auditgw/1.0");
        if (config.TlsServerName is { } serverName)
        {
            // SocketsHttpHandler takes the TLS server name (SNI and the certificate check) from the Host header.
            _http.DefaultRequestHeaders.Host = config.Server.IsDefaultPort ? serverName : $"{serverName}:{config.Server.Port}";
        }

        if (config.InsecureSkipTlsVerify)
        {
            Log.InsecureSkipTlsVerify(_logger, config.Server);
        }
    }

    public KubeClientConfig Config => _config;

    public async Task<KubeList> ListAsync(KubeResourceType type, string? ns, ListOptions options, CancellationToken cancellationToken)
    {
        var query = Query(
            ("limit", options.Limit?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("continue", options.Continue),
            ("resourceVersion", options.ResourceVersion),
            ("fieldSelector", options.FieldSelector),
            ("labelSelector", options.LabelSelector));
        var node = await SendAsync(HttpMethod.Get, type.Path(ns) + query, null, null, cancellationToken);
        var list = node as JsonObject ?? throw new JsonException($"{type.Plural} list: the response is not an object");
        var items = new List<JsonObject>();
        if (list["items"] is JsonArray array)
        {
            foreach (var item in array.OfType<JsonObject>().ToList())
            {
                array.Remove(item);
                item["kind"] ??= type.Kind;
                item["apiVersion"] ??= type.ApiVersion;
                items.Add(item);
            }
        }

        var meta = list["metadata"];
        return new KubeList((string?)meta?["resourceVersion"], (string?)meta?["continue"] is { Length: > 0 } c ? c : null, items);
    }

    /// <summary>
    /// Streams watch events until the server ends the stream (returns) or the connection fails
    /// (throws). ERROR events are yielded, not thrown: the caller decides (410 means relist).
    /// </summary>
    public async IAsyncEnumerable<WatchEvent> WatchAsync(
        KubeResourceType type, string? ns, WatchOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var query = Query(
            ("watch", "1"),
            ("resourceVersion", options.ResourceVersion),
            ("allowWatchBookmarks", options.AllowBookmarks ? "true" : null),
            ("timeoutSeconds", options.TimeoutSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("fieldSelector", options.FieldSelector),
            ("labelSelector", options.LabelSelector));
        using var response = await SendAuthorizedAsync(HttpMethod.Get, type.Path(ns) + query, null, null, HttpCompletionOption.ResponseHeadersRead, null, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, cancellationToken);
        }

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var scanner = new JsonFrameScanner();
        while (true)
        {
            while (scanner.TryReadFrame(out var frame))
            {
                yield return WatchEventReader.Read(frame.Span);
            }

            var read = await body.ReadAsync(scanner.GetWriteMemory(), cancellationToken);
            if (read == 0)
            {
                if (scanner.HasPartialFrame)
                {
                    throw new IOException("the watch stream ended inside an event");
                }

                yield break;
            }

            scanner.Advance(read);
        }
    }

    /// <summary>Gets an object; null when it does not exist.</summary>
    public async Task<T?> GetAsync<T>(KubeResourceType type, string? ns, string name, JsonTypeInfo<T> info, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            var node = await SendAsync(HttpMethod.Get, type.Path(ns, name), null, null, cancellationToken);
            return node.Deserialize(info);
        }
        catch (KubeApiException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    public async Task<T> CreateAsync<T>(KubeResourceType type, string? ns, T obj, JsonTypeInfo<T> info, CancellationToken cancellationToken) =>
        (await SendAsync(HttpMethod.Post, type.Path(ns), JsonSerializer.Serialize(obj, info), null, cancellationToken)).Deserialize(info)!;

    /// <summary>PUT; the object's metadata.resourceVersion makes it conditional (409 when stale).</summary>
    public async Task<T> UpdateAsync<T>(KubeResourceType type, string? ns, string name, T obj, JsonTypeInfo<T> info, CancellationToken cancellationToken) =>
        (await SendAsync(HttpMethod.Put, type.Path(ns, name), JsonSerializer.Serialize(obj, info), null, cancellationToken)).Deserialize(info)!;

    /// <summary>PUT to the status subresource (e.g. Ingress status.loadBalancer).</summary>
    public async Task<T> UpdateStatusAsync<T>(KubeResourceType type, string? ns, string name, T obj, JsonTypeInfo<T> info, CancellationToken cancellationToken) =>
        (await SendAsync(HttpMethod.Put, type.Path(ns, name, "status"), JsonSerializer.Serialize(obj, info), null, cancellationToken)).Deserialize(info)!;

    /// <summary>Deletes an object; false when it did not exist.</summary>
    public async Task<bool> DeleteAsync(KubeResourceType type, string? ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            await SendAsync(HttpMethod.Delete, type.Path(ns, name), null, null, cancellationToken);
            return true;
        }
        catch (KubeApiException e) when (e.IsNotFound)
        {
            return false;
        }
    }

    private async Task<JsonNode> SendAsync(HttpMethod method, string pathAndQuery, string? body, string? contentType, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            using var response = await SendAuthorizedAsync(method, pathAndQuery, body, contentType, HttpCompletionOption.ResponseContentRead, timeout, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw await ErrorAsync(response, timeout.Token);
            }

            var bytes = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            return JsonNode.Parse(bytes) ?? throw new JsonException($"{method} {pathAndQuery}: empty response");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{method} {pathAndQuery}: no answer within {RequestTimeout.TotalSeconds:0} s");
        }
    }

    private static async Task<KubeApiException> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Status? status = null;
        try
        {
            status = JsonSerializer.Deserialize(text, KubeJsonContext.Default.Status);
        }
        catch (JsonException)
        {
            // Not a Status (a proxy's HTML page, say): the text is the message.
        }

        var code = (int)response.StatusCode;
        var request = response.RequestMessage;
        var message = status?.Message ?? (text.Length > 200 ? text[..200] : text);
        return new KubeApiException(code, status, $"{request?.Method} {request?.RequestUri}: {code} {status?.Reason ?? response.ReasonPhrase}: {message}");
    }

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var parts = parameters.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }

    public void Dispose()
    {
        if (_config.Exec is { } exec)
        {
            exec.Replaced -= OnCredentialReplaced;
        }

        _http.Dispose();
    }
}
