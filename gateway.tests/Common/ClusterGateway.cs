using System.Net;
using System.Text.Json.Nodes;
using AuditGateway.ControlPlane;
using AuditGateway.ControlPlane.Attribution;
using AuditGateway.Demo;
using AuditGateway.Hosting;
using AuditGateway.Routing;
using AuditGateway.Tests.Common.FakeApiServer;

namespace AuditGateway.Tests.Common;

/// <summary>
/// A cluster-mode test environment: the fake API server, echo backends on loopback, and one or
/// more gateways in-process reading the API with their own service-account token. The first
/// gateway's admin listener serves HTTPS with a test certificate, and the fake server calls its
/// <c>/k8s/admission</c> and <c>/k8s/audit</c> (as a real apiserver would call the Service).
/// </summary>
internal sealed class ClusterGateway : IAsyncDisposable
{
    public const string GatewayToken = "gateway-token";
    public const string GatewayUser = "system:serviceaccount:auditgateway:auditgateway";
    public const string PublishAddress = "203.0.113.10";
    public const string AuditToken = "audit-webhook-token";

    private readonly string _root = Directory.CreateTempSubdirectory("auditgw-cluster-").FullName;
    private readonly Dictionary<string, EchoBackend> _backends = new(StringComparer.Ordinal);
    private readonly List<Replica> _replicas = [];
    private readonly TestCertificateAuthority _webhookCa = TestCertificateAuthority.Create("auditgw-admin");
    private FakeApiServer.FakeApiServer? _server;
    private HttpClient? _client;
    private bool _admission;
    private bool _audit;
    private Action<IServiceCollection>? _configure;
    private AuditGateway.Redis.RedisSection? _redis;

    public FakeApiServer.FakeApiServer Server => _server ?? throw new InvalidOperationException("not started");

    public IReadOnlyList<Replica> Replicas => _replicas;

    /// <summary>The first running gateway (the webhooks call it unless pointed elsewhere; requests go to it).</summary>
    public Replica Gateway => _replicas[0];

    /// <param name="configure">Applied to every replica's services after the gateway's own (so it wins).</param>
    /// <param name="redis">Every replica's <c>redis:</c> section (docs/replicas.md); null: none.</param>
    public static async Task<ClusterGateway> StartAsync(
        string[] backends, int replicas = 1, bool admission = true, bool audit = true, ElectionTimings? election = null, Action<IServiceCollection>? configure = null,
        AuditGateway.Redis.RedisSection? redis = null)
    {
        var env = new ClusterGateway();
        try
        {
            var users = new Dictionary<string, FakeUser>(StringComparer.Ordinal)
            {
                [FakeApiServerOptions.AdminToken] = new("kubernetes-admin", ["system:masters", "system:authenticated"]),
                [GatewayToken] = new(GatewayUser, ["system:serviceaccounts", "system:authenticated"]),
            };
            env._server = await FakeApiServer.FakeApiServer.StartAsync(new FakeApiServerOptions { Users = users });
            env._admission = admission;
            env._audit = audit;
            env._configure = configure;
            env._redis = redis;
            await env.AddBackendsAsync(backends);
            for (var i = 0; i < replicas; i++)
            {
                await env.StartReplicaAsync($"node-{(char)('a' + i)}", election);
            }

            await env.PointWebhooksAtAsync(env.Gateway);
            return env;
        }
        catch
        {
            await env.DisposeAsync();
            throw;
        }
    }

    /// <summary>Makes the fake API server call this replica's webhooks (as the Service would route to a live pod).</summary>
    public async Task PointWebhooksAtAsync(Replica replica)
    {
        var admin = replica.App.Ports.Admin!.Value;
        await Server.ConfigureWebhooksAsync(
            _admission ? new WebhookTarget(new Uri($"https://127.0.0.1:{admin}/k8s/admission"), _webhookCa.Ca) : null,
            _audit ? new WebhookTarget(new Uri($"https://127.0.0.1:{admin}/k8s/audit"), _webhookCa.Ca, AuditToken) : null);
    }

    /// <summary>A client for the first gateway's HTTPS admin listener (trusts only the webhook CA).</summary>
    public HttpClient AdminClient() => WebhookHttp.Create(new WebhookTarget(new Uri($"https://127.0.0.1:{Gateway.App.Ports.Admin}/"), _webhookCa.Ca));

    public Uri AdminUri(string path) => new($"https://127.0.0.1:{Gateway.App.Ports.Admin}{path}");

    public async Task AddBackendsAsync(params string[] names)
    {
        foreach (var backend in await Task.WhenAll(names.Select(n => EchoBackend.StartAsync(n))))
        {
            _backends.Add(backend.Name, backend);
        }
    }

    public int PortOf(string backend) => _backends[backend].Port;

    /// <summary>Starts one more gateway replica reading the fake API server.</summary>
    public async Task<Replica> StartReplicaAsync(string node, ElectionTimings? election = null)
    {
        var directory = Directory.CreateDirectory(Path.Combine(_root, node)).FullName;
        var kubeconfig = Path.Combine(directory, "kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, Server.Kubeconfig(GatewayToken));
        var certFile = Path.Combine(directory, "admin.crt");
        var keyFile = Path.Combine(directory, "admin.key");
        await File.WriteAllTextAsync(certFile, _webhookCa.Server.ExportCertificatePem());
        using (var key = System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions.GetECDsaPrivateKey(_webhookCa.Server)!)
        {
            await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());
        }

        var loopback = new IPEndPoint(IPAddress.Loopback, 0);
        var options = new GatewayOptions
        {
            Kubeconfig = kubeconfig,
            Data = Path.Combine(directory, "data"),
            Http = loopback,
            Https = loopback,
            Admin = loopback,
            Node = node,
            PublishAddress = PublishAddress,
            Election = election ?? new ElectionTimings(),
            File = new ConfigFile
            {
                Admin = new AdminSection
                {
                    Tls = new AdminTlsSection { CertFile = certFile, KeyFile = keyFile },
                    AuditWebhookToken = _audit ? Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(AuditToken))) : null,
                },
                Redis = _redis,
            },
        };
        var logs = new LogCollector();
        var app = await GatewayApp.StartAsync(options, services =>
        {
            services.AddSingleton<ILoggerProvider>(logs);
            // The fake apiserver posts audit events in the background: on a loaded CI machine they
            // can take longer than the production wait, so the tests allow more.
            services.AddSingleton<IChangeAttributor>(sp => new ClusterAttributor(sp.GetRequiredService<AttributionStore>(), TimeSpan.FromSeconds(5)));
            _configure?.Invoke(services);
        });
        var replica = new Replica(node, app, options.Data, logs);
        _replicas.Add(replica);
        await replica.WaitForAsync(_ => app.Routing.Synced);
        return replica;
    }

    /// <summary>Stops one replica (the others keep running).</summary>
    public async Task StopReplicaAsync(Replica replica)
    {
        _replicas.Remove(replica);
        await replica.App.DisposeAsync();
    }

    /// <summary>Runs the real kubectl as kubernetes-admin; <paramref name="stdin"/> is the manifest for <c>-f -</c>.</summary>
    public Task<KubectlResult> KubectlAsync(string? stdin, params string[] args) => Kubectl.RunAsync(Server, stdin, args);

    /// <summary>
    /// Manifests (JSON documents, possibly joined by <c>---</c>) as a YAML stream kubectl reads: a
    /// stream that starts with <c>{</c> is read as JSON, which has no document separators.
    /// </summary>
    public static string ListOf(params string[] texts) => "---\n" + string.Join("\n---\n", texts.Select(t => t.Trim())) + "\n";

    /// <summary>A Service + EndpointSlice for the echo backend (at 127.0.0.1:its port) as YAML documents.</summary>
    public string ServiceFor(string backend) => Manifests.Backend(backend, PortOf(backend));

    /// <summary>Which backend served <c>http://host/path</c> through the first gateway, or the status code.</summary>
    public async Task<string> ServedByAsync(string url)
    {
        _client ??= new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectCallback = async (context, ct) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Gateway.App.Ports.Http!.Value), ct);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        }) { Timeout = TestGateway.Timeout };
        using var response = await _client.GetAsync(new Uri(url));
        return response.Headers.TryGetValues("X-Backend", out var backend)
            ? backend.Single()
            : ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        _client?.Dispose();
        foreach (var replica in _replicas)
        {
            await replica.App.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        foreach (var backend in _backends.Values)
        {
            await backend.DisposeAsync();
        }

        _webhookCa.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary directory is not a test failure.
        }
    }

    /// <summary>One in-process gateway of the cluster.</summary>
    internal sealed class Replica(string node, GatewayApp app, string data, LogCollector logs)
    {
        public string Node => node;

        public GatewayApp App => app;

        public LogCollector Logs => logs;

        public RouteTable Table => app.Routing.Current;

        public string AdminToken => File.ReadAllText(Path.Combine(data, GatewaySettings.GeneratedAdminTokenFile)).Trim();

        public T Service<T>()
            where T : notnull => app.Services.GetRequiredService<T>();

        /// <summary>Every <c>config</c> entry in the log so far (entries are durable before their change is in force).</summary>
        public List<JsonObject> ConfigEntries()
        {
            var entries = new List<JsonObject>();
            foreach (var file in Directory.GetFiles(Path.Combine(data, "log"), "*.jsonl").Order(StringComparer.Ordinal))
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream);
                while (reader.ReadLine() is { } line)
                {
                    if (line.Length > 0 && JsonNode.Parse(line) is JsonObject entry && (string?)entry["kind"] == "config")
                    {
                        entries.Add(entry["config"]!.AsObject());
                    }
                }
            }

            return entries;
        }

        /// <summary>The newest config entry for the object (kind, name), or null.</summary>
        public JsonObject? LastConfigEntry(string kind, string name) =>
            ConfigEntries().LastOrDefault(e => (string?)e["object"]?["kind"] == kind && (string?)e["object"]?["name"] == name);

        public async Task<RouteTable> WaitForAsync(Func<RouteTable, bool> condition)
        {
            using var timeout = new CancellationTokenSource(TestGateway.Timeout);
            try
            {
                return await app.Routing.WaitForAsync(condition, timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                throw new TimeoutException(
                    $"{node}: the route table did not reach the expected state; routes " + string.Join(", ", Table.Routes.Select(r => r.Id))
                    + "; ingresses " + string.Join(", ", Table.Ingresses.Select(r => $"{r.Ingress}={r.Status} [{string.Join("; ", r.Errors)}]"))
                    + "\nlogs:\n" + string.Join("\n", logs.Lines.TakeLast(30)));
            }
        }

        public Task<RouteTable> WaitForRouteAsync(string id) => WaitForAsync(t => t.Routes.Any(r => r.Id == id));
    }
}
