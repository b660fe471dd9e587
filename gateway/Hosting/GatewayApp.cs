using AuditGateway.Admin;
using AuditGateway.Audit.Writer;
using AuditGateway.Configuration;
using AuditGateway.ControlPlane;
using AuditGateway.ControlPlane.Sources;
using AuditGateway.Policy;
using AuditGateway.Proxy;
using AuditGateway.Redis;
using AuditGateway.Reports;
using AuditGateway.Routing;
using AuditGateway.Telemetry;

namespace AuditGateway.Hosting;

/// <summary>
/// One running gateway: the HTTP, HTTPS and admin listeners, the config source feeding the
/// pipeline, and the route table in force. Start-up reads the config source once before any
/// listener opens, so bad input stops start-up and the first request is already routed.
/// </summary>
internal sealed partial class GatewayApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping;
    private readonly Task _sourceTask;

    private GatewayApp(WebApplication app, CancellationTokenSource stopping, Task sourceTask)
    {
        _app = app;
        _stopping = stopping;
        _sourceTask = sourceTask;
    }

    public IServiceProvider Services => _app.Services;

    public ListenerPorts Ports => _app.Services.GetRequiredService<ListenerPorts>();

    public RoutingState Routing => _app.Services.GetRequiredService<RoutingState>();

    /// <summary>
    /// Starts the gateway, in this order: read and check the configuration; open the audit log (nothing
    /// writes before it is open); start auditing blocks; put the initial config in force (its entries
    /// durable first); open the listeners; then keep following the config source. Throws
    /// <see cref="OptionException"/> or <see cref="ManifestException"/> for bad input, before anything listens.
    /// </summary>
    public static async Task<GatewayApp> StartAsync(GatewayOptions options, Action<IServiceCollection>? configure = null, CancellationToken cancellationToken = default)
    {
        var cluster = ConfigSources.ResolveCluster(options, Environment.GetEnvironmentVariable);
        var adminCertificate = AdminTls.Load(options);
        var settings = GatewaySettings.Parse(options, TimeProvider.System).WithGeneratedAdminToken(out var generatedToken);

        var builder = WebApplication.CreateSlimBuilder();
        ConfigureLogging(builder.Logging);
        GatewayServices.Add(builder.Services, options, settings, cluster);
        configure?.Invoke(builder.Services);
        builder.WebHost.ConfigureKestrel((_, kestrel) => GatewayListeners.Configure(kestrel, options, adminCertificate));
        builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = RuntimeTuning.PreferInlineScheduling);

        var app = builder.Build();
        if (generatedToken is not null)
        {
            LogGeneratedAdminToken(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<GatewayApp>(), generatedToken);
        }

        // Listening before the log opens, so /metrics counts its first entries too.
        app.Services.GetRequiredService<MeterCollector>();
        var audit = app.Services.GetRequiredService<AuditLogService>();
        try
        {
            await audit.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or FormatException or System.Security.Cryptography.CryptographicException)
        {
            await app.DisposeAsync();
            throw new OptionException($"--data '{options.Data}': cannot open the audit log: {e.Message}");
        }

        try
        {
            app.Services.GetRequiredService<BlockAuditor>().Start();
            ReplicaServices.Start(app.Services);
            app.Services.GetRequiredService<LiveReports>().Start();
            app.Services.GetRequiredService<RollupMaintainer>().Start();
            app.Services.GetRequiredService<ConfigMetrics>().ObserveState(
                app.Services.GetRequiredService<RoutingState>(), app.Services.GetRequiredService<ConfigPipeline>(), app.Services.GetRequiredService<IBlockList>());
            var pipeline = app.Services.GetRequiredService<ConfigPipeline>();
            await ConfigSources.LoadInitialAsync(app.Services, pipeline, cancellationToken);
            MapEndpoints(app, options, cluster is not null);
            await ListenAsync(app, cancellationToken);
            var stopping = new CancellationTokenSource();
            var sourceTask = ConfigSources.RunAsync(app.Services, pipeline, stopping.Token);
            return new GatewayApp(app, stopping, sourceTask);
        }
        catch
        {
            // A start that fails once the log is open still closes it cleanly (a stop entry, not a recovery at the next start).
            await app.DisposeAsync();
            await audit.DisposeAsync();
            throw;
        }
    }

    private static void ConfigureLogging(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("Yarp", LogLevel.Warning);
        // Any enabled level here makes ASP.NET Core start an Activity for every request (and HttpClient a
        // child with a traceparent header): a cost on the hot path for logs this category never writes above Debug.
        logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        logging.AddFilter<RejectedRequestAuditor>(RejectedRequestAuditor.Category, LogLevel.Debug);
    }

    /// <summary>The admin listener serves the admin API (and in cluster mode the webhooks); every other request is proxied.</summary>
    private static void MapEndpoints(WebApplication app, GatewayOptions options, bool clusterMode)
    {
        var auditWebhookToken = options.File.Admin?.AuditWebhookToken;
        app.MapWhen(
            context => ListenerPorts.IsOn(context, ListenerKind.Admin),
            admin => admin.Use(OffTransportThreadAsync).UseRouting().UseAdminAuthentication().UseEndpoints(endpoints =>
            {
                AdminEndpoints.Map(endpoints);
                Admin.Dashboard.DashboardEndpoints.Map(endpoints);
                MetricsEndpoint.Map(endpoints);
                if (clusterMode)
                {
                    WebhookEndpoints.Map(endpoints, auditWebhookToken);
                }
            }));
        app.Run(app.Services.GetRequiredService<ProxyMiddleware>().InvokeAsync);
    }

    /// <summary>
    /// With inline scheduling (<see cref="RuntimeTuning.InlineScheduling"/>) a request starts on the transport thread
    /// that read it. Admin reads (reports, search, proofs, /metrics) may compute for a while: they continue on the
    /// thread pool, so they never hold up the proxied connections that thread serves.
    /// </summary>
    private static async Task OffTransportThreadAsync(HttpContext context, RequestDelegate next)
    {
        await Task.Yield();
        await next(context);
    }

    private static async Task ListenAsync(WebApplication app, CancellationToken cancellationToken)
    {
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            throw new OptionException($"cannot listen: {e.Message} (check --http, --https and --admin)");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No admin token or JWT issuer is configured: generated an operator token for the admin API in {Path} (send it as 'Authorization: Bearer <token>')")]
    private static partial void LogGeneratedAdminToken(ILogger logger, string path);

    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        try
        {
            await _sourceTask;
        }
        catch (OperationCanceledException)
        {
        }

        await _app.StopAsync();
        // The log closes last: entries of the requests that just finished are flushed and a final checkpoint is signed.
        var audit = _app.Services.GetRequiredService<AuditLogService>();
        await _app.DisposeAsync();
        await audit.DisposeAsync();
        _stopping.Dispose();
    }
}
