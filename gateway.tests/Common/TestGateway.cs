using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using AuditGateway.Demo;
using AuditGateway.Hosting;
using AuditGateway.Policy;
using AuditGateway.Routing;

// The gateway's certificates are self-signed test certificates; the tests check which one was
// presented (subject, serial) instead of validating a chain.
#pragma warning disable CA5359

namespace AuditGateway.Tests.Common;

/// <summary>
/// An end-to-end test environment: echo backends on loopback, a temporary manifest directory
/// and the whole gateway in-process, every listener on <c>127.0.0.1:0</c>. Write manifests
/// (before or after <see cref="StartAsync(Action{IServiceCollection}?)"/>), then send requests whose URI carries the
/// virtual host (<c>http://shop.test/path</c>): the client connects to the gateway's port,
/// so the <c>Host</c> header and the TLS SNI are the URI's host.
/// </summary>
internal sealed class TestGateway : IAsyncDisposable
{
    /// <summary>How long any wait for the gateway may take before the test fails.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly string _root;
    private readonly Dictionary<string, EchoBackend> _backends = new(StringComparer.Ordinal);
    private readonly List<HttpMessageInvoker> _clients = [];
    private GatewayApp? _app;
    private HttpClient? _client;

    public TestGateway()
    {
        _root = Directory.CreateTempSubdirectory("auditgw-e2e-").FullName;
        ManifestDirectory = Directory.CreateDirectory(Path.Combine(_root, "manifests")).FullName;
        DataDirectory = Path.Combine(_root, "data");
    }

    public string ManifestDirectory { get; }

    /// <summary>The gateway's <c>--data</c> directory (set before start to put it elsewhere, e.g. on a small volume).</summary>
    public string DataDirectory { get; set; }

    /// <summary>The <c>--config</c> file's YAML, written before start; null = no config file.</summary>
    public string? ConfigYaml { get; set; }

    /// <summary>
    /// When set, the clock of the policy's timed state (rate-limit buckets, the probe detector, the
    /// block list) instead of the system clock. The audit log keeps the system clock so it flushes.
    /// </summary>
    public ManualTimeProvider? PolicyClock { get; set; }

    /// <summary>Listen on <c>[::1]</c> instead of <c>127.0.0.1</c>, so requests come from the IPv6 loopback.</summary>
    public bool ListenOnIPv6 { get; set; }

    /// <summary>Writes a file next to the config file (e.g. a JWKS <c>keysFile</c>); returns its path.</summary>
    public string WriteConfigAsset(string name, string text)
    {
        var path = Path.Combine(_root, name);
        File.WriteAllText(path, text);
        return path;
    }

    public LogCollector Logs { get; } = new();

    public GatewayApp App => _app ?? throw new InvalidOperationException("the gateway is not started");

    /// <summary>The route table in force.</summary>
    public RouteTable Table => App.Routing.Current;

    /// <summary>A client for the gateway's HTTP and HTTPS listeners (no redirects followed, any certificate accepted).</summary>
    public HttpClient Client => _client ?? throw new InvalidOperationException("the gateway is not started");

    /// <summary>Starts backends, writes the manifests, starts the gateway; disposes everything if a step fails.</summary>
    public static async Task<TestGateway> StartAsync(string[] backends, Action<TestGateway> writeManifests, Action<IServiceCollection>? configure = null)
    {
        var gateway = new TestGateway();
        try
        {
            await gateway.AddBackendsAsync(backends);
            writeManifests(gateway);
            await gateway.StartAsync(configure);
            return gateway;
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts one echo backend per name; each answers with its name as <see cref="EchoReply.Service"/>.</summary>
    public async Task AddBackendsAsync(params string[] names)
    {
        var started = await Task.WhenAll(names.Select(name => EchoBackend.StartAsync(name)));
        foreach (var backend in started)
        {
            _backends.Add(backend.Name, backend);
        }
    }

    public int PortOf(string backend) => _backends[backend].Port;

    /// <summary>A Service and EndpointSlice named like the backend, pointing at it.</summary>
    public string ServiceFor(string backend, int port = 80, string portName = "http", bool ready = true) =>
        Manifests.Backend(backend, PortOf(backend), port, portName, ready);

    /// <summary>Writes a manifest file whole (write aside, then rename), so the watcher never reads half of it.</summary>
    public void WriteManifest(string file, string text)
    {
        var path = Path.Combine(ManifestDirectory, file);
        var aside = Path.Combine(_root, Path.GetRandomFileName());
        File.WriteAllText(aside, text);
        File.Move(aside, path, overwrite: true);
    }

    public void DeleteManifest(string file) => File.Delete(Path.Combine(ManifestDirectory, file));

    /// <summary>
    /// Starts the gateway on the manifests written so far and waits until its watcher runs;
    /// <paramref name="configure"/> may replace services (registered last, so it wins).
    /// </summary>
    public async Task StartAsync(Action<IServiceCollection>? configure = null)
    {
        var loopback = new IPEndPoint(ListenOnIPv6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, 0);
        var options = new GatewayOptions
        {
            Manifests = ManifestDirectory,
            Data = DataDirectory,
            Http = loopback,
            Https = loopback,
            Admin = new IPEndPoint(IPAddress.Loopback, 0),
        };
        if (ConfigYaml is not null)
        {
            var config = WriteConfigAsset("gateway.yaml", ConfigYaml);
            options = options with { Config = config, File = ConfigFile.Load(config) };
        }

        _app = await GatewayApp.StartAsync(options, services =>
        {
            services.AddSingleton<ILoggerProvider>(Logs);
            configure?.Invoke(services);
            if (PolicyClock is { } clock)
            {
                services.AddSingleton<IRateLimitStore>(sp => new RateLimiter(clock, sp.GetRequiredService<ILogger<RateLimiter>>()));
                services.AddSingleton<IBlockList>(sp => new InMemoryBlockList(clock, sp.GetRequiredService<ILogger<InMemoryBlockList>>()));
                if (services.Any(d => d.ServiceType == typeof(ProbeDetector)))
                {
                    services.AddSingleton(sp => new ProbeDetector(
                        sp.GetRequiredService<PolicyOptions>().ProbeDetection, sp.GetRequiredService<IBlockList>(), clock, sp.GetRequiredService<ILogger<ProbeDetector>>()));
                }
            }
        });
        _client = CreateClient();
        await WaitForAsync(_ => App.Routing.Synced);
    }

    /// <summary>
    /// A new client with its own connections. <paramref name="onCertificate"/> sees the server
    /// certificate of each TLS handshake.
    /// </summary>
    public HttpClient CreateClient(Action<X509Certificate2>? onCertificate = null) => CreateClient(onCertificate, localAddress: null);

    /// <summary>A new client whose connections leave from <paramref name="localAddress"/> (e.g. 127.0.0.2: another loopback peer).</summary>
    public HttpClient CreateClient(Action<X509Certificate2>? onCertificate, IPAddress? localAddress)
    {
        var client = new HttpClient(CreateHandler(onCertificate, localAddress)) { Timeout = Timeout };
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    /// <summary>
    /// A new invoker with its own connections to the gateway's listeners, as a client's from <c>CreateClient</c>, but
    /// without HttpClient's buffering and timeout: for <c>ClientWebSocket.ConnectAsync(uri, invoker, …)</c>.
    /// </summary>
    public HttpMessageInvoker CreateInvoker()
    {
        var invoker = new HttpMessageInvoker(CreateHandler(onCertificate: null, localAddress: null));
        lock (_clients)
        {
            _clients.Add(invoker);
        }

        return invoker;
    }

    private SocketsHttpHandler CreateHandler(Action<X509Certificate2>? onCertificate, IPAddress? localAddress)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectCallback = (context, cancellationToken) => ConnectAsync(context, localAddress, cancellationToken),
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            if (certificate is not null)
            {
                onCertificate?.Invoke(new X509Certificate2(certificate));
            }

            return true;
        };
        return handler;
    }

    public Task<HttpResponseMessage> GetAsync(string url) => Client.GetAsync(new Uri(url));

    /// <summary>GETs the URL with an explicit <c>Host</c> header (kept as written: case, port).</summary>
    public async Task<HttpResponseMessage> GetAsync(string url, string hostHeader)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(url));
        request.Headers.Host = hostHeader;
        return await Client.SendAsync(request);
    }

    /// <summary>GETs the URL, expects a 200 from an echo backend and returns what the backend saw.</summary>
    public async Task<EchoReply> GetEchoAsync(string url)
    {
        using var response = await GetAsync(url);
        return await ReadEchoAsync(response, url);
    }

    /// <summary>Which backend served the URL, or <c>"404"</c>/<c>"503"</c>… when the gateway answered itself.</summary>
    public async Task<string> ServedByAsync(string url)
    {
        using var response = await GetAsync(url);
        if (response.Headers.TryGetValues("X-Backend", out var backend))
        {
            return backend.Single();
        }

        return ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// GETs an HTTPS URL on a new connection; returns the response (body read) and the
    /// certificate the gateway presented for the URI's host as SNI.
    /// </summary>
    public async Task<(HttpResponseMessage Response, X509Certificate2 Certificate)> GetOverNewTlsConnectionAsync(string url)
    {
        X509Certificate2? seen = null;
        var client = CreateClient(c => seen = c);
        var response = await client.GetAsync(new Uri(url));
        lock (_clients)
        {
            _clients.Remove(client);
        }

        client.Dispose();
        return (response, seen ?? throw new InvalidOperationException("no TLS handshake happened for " + url));
    }

    /// <summary>Only a TLS handshake with the given SNI; returns the certificate the gateway chose.</summary>
    public async Task<X509Certificate2> HandshakeAsync(string serverName)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, App.Ports.Https!.Value);
        X509Certificate2? seen = null;
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, certificate, _, _) =>
        {
            seen = certificate is null ? null : new X509Certificate2(certificate);
            return true;
        });
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = serverName });
        return seen ?? throw new InvalidOperationException("the gateway presented no certificate for " + serverName);
    }

    public static async Task<EchoReply> ReadEchoAsync(HttpResponseMessage response, string url)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(
            response.StatusCode == HttpStatusCode.OK && response.Headers.Contains("X-Backend"),
            $"GET {url}: expected 200 from a backend, got {(int)response.StatusCode} {Reason(response)} {body}");
        return JsonSerializer.Deserialize(body, EchoJsonContext.Default.EchoReply)!;
    }

    /// <summary>The gateway's <c>X-AuditGateway-Reason</c> header, or empty.</summary>
    public static string Reason(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-AuditGateway-Reason", out var values) ? string.Join(" ", values) : "";

    public Uri AdminUri(string path) => new($"http://127.0.0.1:{App.Ports.Admin}{path}");

    /// <summary>The operator token the gateway generated into its data directory (no admin token is configured).</summary>
    public string AdminToken => File.ReadAllText(Path.Combine(DataDirectory, AuditGateway.Hosting.GatewaySettings.GeneratedAdminTokenFile)).Trim();

    /// <summary>An admin API request carrying the generated operator token.</summary>
    public HttpRequestMessage AdminRequest(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, AdminUri(path));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminToken);
        return request;
    }

    public async Task<JsonNode> GetAdminJsonAsync(string path)
    {
        using var request = AdminRequest(HttpMethod.Get, path);
        using var response = await Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    /// <summary>The durable entries of the gateway's audit log so far (whole lines only), parsed.</summary>
    public IReadOnlyList<JsonObject> AuditNodes() =>
        [.. AuditEntries().Select(entry => JsonNode.Parse(entry.GetRawText())!.AsObject())];

    /// <summary>The raw text of the audit log's segments, whole lines only, in order.</summary>
    public string AuditText()
    {
        var directory = Path.Combine(DataDirectory, "log");
        if (!Directory.Exists(directory))
        {
            return "";
        }

        var text = new System.Text.StringBuilder();
        foreach (var file in Directory.GetFiles(directory, "*.jsonl").Order(StringComparer.Ordinal))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var content = reader.ReadToEnd();
            text.Append(content.AsSpan(0, content.LastIndexOf('\n') + 1));
        }

        return text.ToString();
    }

    /// <summary>Waits until the log holds an entry that matches; returns it (the body is under its kind, e.g. <c>request</c>).</summary>
    public async Task<JsonObject> WaitForEntryAsync(Func<JsonObject, bool> match, string because)
    {
        JsonObject? found = null;
        await Eventually.TrueAsync(() => (found = AuditNodes().LastOrDefault(match)) is not null, Timeout, because);
        return found!;
    }

    /// <summary>The <c>request</c> body of the entry whose user agent is <paramref name="userAgent"/>.</summary>
    public async Task<JsonObject> WaitForRequestEntryAsync(string userAgent)
    {
        var entry = await WaitForEntryAsync(
            e => (string?)e["kind"] == "request" && (string?)e["request"]?["userAgent"] == userAgent,
            $"a request entry with user agent {userAgent}");
        return entry["request"]!.AsObject();
    }

    /// <summary>The report of one Ingress (<c>default/name</c>) in the table in force.</summary>
    public IngressReport ReportOf(string ingress) =>
        Table.Ingresses.SingleOrDefault(r => r.Ingress == ingress)
        ?? throw new InvalidOperationException($"no report for {ingress}; reports: {string.Join(", ", Table.Ingresses.Select(r => r.Ingress))}");

    /// <summary>
    /// Every complete entry in the audit log files so far, in <c>seq</c> order (a line the
    /// writer has not finished is left out).
    /// </summary>
    public IReadOnlyList<JsonElement> AuditEntries() => AuditLogFiles.ReadEntries(DataDirectory);

    /// <summary>Waits until the audit log holds an entry matching <paramref name="match"/> (request entries are durable within the flush interval).</summary>
    public async Task<JsonElement> WaitForAuditAsync(Func<JsonElement, bool> match, string because)
    {
        JsonElement? found = null;
        await Eventually.TrueAsync(() => (found = AuditEntries().Cast<JsonElement?>().FirstOrDefault(e => match(e!.Value))) is not null, Timeout, because);
        return found!.Value;
    }

    /// <summary>Waits until the table in force satisfies the condition; fails the test after <see cref="Timeout"/>.</summary>
    public async Task<RouteTable> WaitForAsync(Func<RouteTable, bool> condition)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            return await App.Routing.WaitForAsync(condition, timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            var table = Table;
            throw new TimeoutException(
                $"the route table did not reach the expected state within {Timeout.TotalSeconds} s; in force: {table.Revision}, routes "
                + string.Join(", ", table.Routes.Select(r => r.Id)) + "; ingresses "
                + string.Join(", ", table.Ingresses.Select(r => $"{r.Ingress}={r.Status} [{string.Join("; ", r.Errors)}]")));
        }
    }

    /// <summary>Waits until a route with this id is in force.</summary>
    public Task<RouteTable> WaitForRouteAsync(string id) => WaitForAsync(t => t.Routes.Any(r => r.Id == id));

    /// <summary>Stops the gateway as a shutdown would (the log is flushed and a last checkpoint signed), keeping its files for inspection.</summary>
    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        await StopAsync();

        foreach (var backend in _backends.Values)
        {
            await backend.DisposeAsync();
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary directory is not a test failure.
        }
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, IPAddress? localAddress, CancellationToken cancellationToken)
    {
        // A URI with an IP address (the admin API) is taken as it is; a host name goes to the gateway.
        var https = context.InitialRequestMessage.RequestUri?.Scheme is "https" or "wss";
        var endpoint = IPAddress.TryParse(context.DnsEndPoint.Host, out var address)
            ? new IPEndPoint(address, context.DnsEndPoint.Port)
            : new IPEndPoint(ListenOnIPv6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, https ? App.Ports.Https!.Value : App.Ports.Http!.Value);
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (localAddress is not null)
            {
                socket.Bind(new IPEndPoint(localAddress, 0));
            }

            await socket.ConnectAsync(endpoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
