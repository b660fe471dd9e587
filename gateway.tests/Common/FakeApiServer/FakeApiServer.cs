using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace AuditGateway.Tests.Common.FakeApiServer;

/// <summary>
/// An in-process Kubernetes API server for tests: HTTPS on 127.0.0.1:0, bearer-token users,
/// discovery enough for kubectl, CRUD + list/watch with a global resourceVersion and a bounded
/// history (real 410s), an admission webhook for ingresses, audit events to a webhook, and
/// <see cref="Faults"/> to make it misbehave.
/// </summary>
internal sealed partial class FakeApiServer : IAsyncDisposable
{
    private readonly FakeApiServerOptions _options;
    private readonly TestCertificateAuthority _certificates;
    private readonly ResourceStore _store;
    private AdmissionCaller? _admission;
    private AuditEmitter? _audit;
    private readonly CancellationTokenSource _stopping = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _revoked = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _serverNamesSeen = new(StringComparer.Ordinal);
    private LoopbackHttpsServer? _http;
    private Task? _bookmarks;

    private FakeApiServer(FakeApiServerOptions options)
    {
        _options = options;
        _certificates = TestCertificateAuthority.Create("fake-apiserver", [.. options.ServerNames]);
        _store = new ResourceStore(options.HistoryLimit);
        Faults = new FaultInjector(_store, options.Time);
        _admission = options.AdmissionWebhook is { } a ? new AdmissionCaller(a, options.AdmissionWebhookName) : null;
        _audit = options.AuditWebhook is { } w ? new AuditEmitter(w) : null;
        Directory = Path.Combine(Path.GetTempPath(), "fake-apiserver-" + Guid.NewGuid().ToString("N")[..12]);
    }

    public FaultInjector Faults { get; }

    /// <summary>e.g. <c>https://127.0.0.1:41234</c>.</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>A kubeconfig (current context: the admin user, namespace default) for kubectl and our client.</summary>
    public string KubeconfigPath => Path.Combine(Directory, "kubeconfig");

    /// <summary>A temporary directory owned by this server (kubeconfig, kubectl's cache); deleted on dispose.</summary>
    public string Directory { get; }

    public string CaPem => _certificates.CaPem;

    public X509Certificate2 CaCertificate => _certificates.Ca;

    /// <summary>The current global resourceVersion.</summary>
    public long ResourceVersion => _store.ResourceVersion;

    /// <summary>The TLS server names (SNI) clients have sent so far.</summary>
    public IReadOnlyCollection<string> ServerNamesSeen => [.. _serverNamesSeen.Keys];

    /// <summary>How many watches are open now.</summary>
    public int WatchCount => _store.WatchCount;

    /// <summary>Audit events accepted by the audit webhook so far.</summary>
    public int AuditEventsDelivered => _audit?.Delivered ?? 0;

    public static async Task<FakeApiServer> StartAsync(FakeApiServerOptions? options = null)
    {
        var server = new FakeApiServer(options ?? new FakeApiServerOptions());
        await server.StartCoreAsync();
        return server;
    }

    private async Task StartCoreAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        _http = await LoopbackHttpsServer.StartAsync(HandleAsync, _certificates, _options.ClientCertificates);
        Url = _http.Url;
        await File.WriteAllTextAsync(KubeconfigPath, Kubeconfig(FakeApiServerOptions.AdminToken));
        if (_options.BookmarkInterval is { } interval)
        {
            _bookmarks = Task.Run(async () =>
            {
                using var timer = new PeriodicTimer(interval, _options.Time);
                try
                {
                    while (await timer.WaitForNextTickAsync(_stopping.Token))
                    {
                        _store.SendBookmarks();
                    }
                }
                catch (OperationCanceledException)
                {
                    // Stopping.
                }
            });
        }
    }

    /// <summary>
    /// Points the admission and audit webhooks somewhere after start (a gateway under test needs
    /// this server's kubeconfig before its own webhook address is known). Call before traffic.
    /// </summary>
    public async Task ConfigureWebhooksAsync(WebhookTarget? admission, WebhookTarget? audit)
    {
        _admission?.Dispose();
        if (_audit is not null)
        {
            await _audit.DisposeAsync();
        }

        _admission = admission is null ? null : new AdmissionCaller(admission, _options.AdmissionWebhookName);
        _audit = audit is null ? null : new AuditEmitter(audit);
    }

    /// <summary>A kubeconfig document for this server with the given bearer token.</summary>
    public string Kubeconfig(string token) => $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: fake
          cluster:
            server: {Url.GetLeftPart(UriPartial.Authority)}
            certificate-authority-data: {Convert.ToBase64String(Encoding.ASCII.GetBytes(CaPem))}
        users:
        - name: user
          user:
            token: {token}
        contexts:
        - name: fake
          context:
            cluster: fake
            user: user
            namespace: default
        current-context: fake

        """;

    /// <summary>An HttpClient for raw requests: trusts only this server's CA, sends the admin token.</summary>
    public HttpClient CreateHttpClient()
    {
        var client = WebhookHttp.Create(new WebhookTarget(Url, CaCertificate, FakeApiServerOptions.AdminToken));
        client.BaseAddress = Url;
        client.Timeout = Timeout.InfiniteTimeSpan;
        return client;
    }

    /// <summary>Stores an object directly (no HTTP, admission or audit), filling metadata as a create would.</summary>
    public JsonObject Seed(JsonObject obj)
    {
        var kind = (string?)obj["kind"];
        var r = ApiResources.All.FirstOrDefault(r => r.Kind == kind && r.GroupVersion == (string?)obj["apiVersion"])
            ?? throw new ArgumentException($"unsupported kind {kind}", nameof(obj));
        var meta = (JsonObject)obj["metadata"]!;
        var ns = r.Namespaced ? (string?)meta["namespace"] ?? "default" : "";
        var name = (string)meta["name"]!;
        var prepared = PrepareCreate(r, ns, obj, "seed");
        var key = new StoreKey(r, ns, name);
        return _store.Get(key) is { } existing
            ? _store.Write(key, Replace(r, existing, prepared, "seed", subresource: null), true, null)
            : _store.Write(key, prepared, false, null);
    }

    /// <summary>Deletes an object directly (no HTTP, admission or audit).</summary>
    public void Remove(string kind, string ns, string name)
    {
        var r = ApiResources.All.First(r => r.Kind == kind);
        _store.Write(new StoreKey(r, r.Namespaced ? ns : "", name), null, true, null);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _store.DropWatches();
        if (_bookmarks is not null)
        {
            await _bookmarks;
        }

        if (_http is not null)
        {
            await _http.DisposeAsync();
        }

        if (_audit is not null)
        {
            await _audit.DisposeAsync();
        }

        _admission?.Dispose();
        if (_http is null)
        {
            _certificates.Dispose();
        }
        _stopping.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a kubectl still writing its cache must not fail the test.
        }
    }

    private static Task WriteJsonAsync(HttpContext ctx, int code, JsonNode body)
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(body.ToJsonString(), ctx.RequestAborted);
    }

    /// <summary>A client certificate signed by this server's CA (CN = user, O = groups) for <see cref="FakeApiServerOptions.ClientCertificates"/>.</summary>
    public X509Certificate2 IssueClientCertificate(string user, params string[] groups) =>
        _certificates.IssueClientCertificate(user, groups);

    /// <summary>From now on, requests with this bearer token or a client certificate for this user get 401.</summary>
    public void Revoke(string tokenOrUser) => _revoked[tokenOrUser] = 0;

    private FakeUser? Authenticate(HttpContext ctx)
    {
        if (_options.ClientCertificates && ctx.Connection.ClientCertificate is { } certificate && IssuedHere(certificate))
        {
            var user = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
            var groups = certificate.SubjectName.EnumerateRelativeDistinguishedNames()
                .Where(n => n.GetSingleElementType().Value == "2.5.4.10").Select(n => n.GetSingleElementValue()!);
            return _revoked.ContainsKey(user) ? null : new FakeUser(user, [.. groups, "system:authenticated"]);
        }

        var header = ctx.Request.Headers.Authorization.ToString();
        var token = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header[7..].Trim() : "";
        return !_revoked.ContainsKey(token) && _options.Users.TryGetValue(token, out var known) ? known : null;
    }

    private bool IssuedHere(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_certificates.Ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var ct = ctx.RequestAborted;
        if (ctx.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>()?.HostName is { Length: > 0 } sni)
        {
            _serverNamesSeen[sni] = 0;
        }

        var latency = Faults.Latency;
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, _options.Time, ct);
        }

        var user = Authenticate(ctx);
        if (user is null)
        {
            await WriteJsonAsync(ctx, 401, ApiError.Status(401, "Unauthorized", "Unauthorized"));
            return;
        }

        if (Faults.ShouldFail())
        {
            await WriteJsonAsync(ctx, 500, ApiError.Status(500, "InternalError", "Internal error occurred: injected fault"));
            return;
        }

        var path = ctx.Request.Path.Value ?? "/";
        if (Discovery(path) is { } document)
        {
            await WriteJsonAsync(ctx, 200, document);
            return;
        }

        if (ParsePath(path) is not { } target)
        {
            await WriteJsonAsync(ctx, 404, ApiError.Status(404, "NotFound", "the server could not find the requested resource"));
            return;
        }

        try
        {
            await HandleResourceAsync(ctx, user, target, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException && !ctx.Response.HasStarted)
        {
            // A bug in the fake: say what it was, as a Status kubectl will print.
            await WriteJsonAsync(ctx, 500, ApiError.Status(500, "InternalError", "fake apiserver bug: " + e));
        }
    }

    private JsonObject? Discovery(string path) => path.TrimEnd('/') switch
    {
        "/version" => ApiResources.Version(),
        "/api" => ApiResources.CoreVersions(Url.Authority),
        "/apis" => ApiResources.Groups(),
        "/openapi/v3" => ApiResources.OpenApiIndex(),
        "/openapi/v3/api/v1" => ApiResources.OpenApiDocument("v1"),
        var p when p.StartsWith("/openapi/v3/apis/", StringComparison.Ordinal) => ApiResources.OpenApiDocument(p[17..]),
        "/api/v1" => ApiResources.ResourceList("v1"),
        var p when p.StartsWith("/apis/", StringComparison.Ordinal) && p.Count(c => c == '/') == 3 => ApiResources.ResourceList(p[6..]),
        _ => null,
    };

    private sealed record Target(ApiResource Resource, string? Namespace, string? Name, string? Subresource);

    private static Target? ParsePath(string path)
    {
        var s = path.Trim('/').Split('/');
        string group;
        string version;
        int at;
        if (s.Length >= 3 && s[0] == "api")
        {
            (group, version, at) = ("", s[1], 2);
        }
        else if (s.Length >= 4 && s[0] == "apis")
        {
            (group, version, at) = (s[1], s[2], 3);
        }
        else
        {
            return null;
        }

        string? ns = null;
        if (s.Length - at >= 3 && s[at] == "namespaces")
        {
            ns = s[at + 1];
            at += 2;
        }

        var rest = s[at..];
        if (rest.Length is 0 or > 3 || ApiResources.Find(group, version, rest[0]) is not { } r || (ns is not null && !r.Namespaced))
        {
            return null;
        }

        var sub = rest.Length == 3 ? rest[2] : null;
        if (sub is not null && (sub != "status" || !r.HasStatus))
        {
            return null;
        }

        return new Target(r, ns, rest.Length >= 2 ? rest[1] : null, sub);
    }
}
