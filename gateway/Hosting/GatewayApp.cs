using System.Net;
using System.Security.Authentication;
using AuditGateway.Admin;
using AuditGateway.Audit;
using AuditGateway.Audit.Writer;
using AuditGateway.Policy;
using AuditGateway.Policy.Identity;
using AuditGateway.Proxy;
using AuditGateway.Routing;
using AuditGateway.Sources;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

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
    /// Starts the gateway. Throws <see cref="OptionException"/> or <see cref="ManifestException"/>
    /// for bad input, before anything listens.
    /// </summary>
    public static async Task<GatewayApp> StartAsync(GatewayOptions options, Action<IServiceCollection>? configure = null, CancellationToken cancellationToken = default)
    {
        var cluster = ConfigSources.ResolveCluster(options, Environment.GetEnvironmentVariable);
        var adminCertificate = AdminTls.Load(options);
        var settings = GatewaySettings.Parse(options, TimeProvider.System).WithGeneratedAdminToken(out var generatedToken);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Yarp", LogLevel.Warning);
        // Any enabled level here makes ASP.NET Core start an Activity for every request (and HttpClient a
        // child with a traceparent header): a cost on the hot path for logs this category never writes above Debug.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Logging.AddFilter<RejectedRequestAuditor>(RejectedRequestAuditor.Category, LogLevel.Debug);

        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddSingleton(settings);
        AddAudit(services, settings);
        AddPolicy(services, settings);
        services.AddSingleton(new ClassOptions
        {
            ClassName = options.IngressClass,
            ControllerName = options.ControllerName,
            WatchIngressWithoutClass = options.WatchIngressWithoutClass,
        });
        services.AddSingleton<RoutingState>();
        services.AddSingleton<ListenerPorts>();
        services.AddSingleton<CertificateStore>();
        services.AddSingleton<IRouteTableObserver, ConfigChangeRecorder>();
        services.AddSingleton<IRouteTableObserver>(sp => sp.GetRequiredService<CertificateStore>());
        services.AddSingleton<ConfigPipeline>();
        ConfigSources.Add(services, options, cluster);
        services.AddSingleton<ProxyMiddleware>();
        services.AddSingleton<RejectedRequestAuditor>();
        services.AddSingleton<ILoggerProvider>(sp => sp.GetRequiredService<RejectedRequestAuditor>());
        services.AddHttpForwarder();
        services.AddSingleton(new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            // Like ingress-nginx (proxy_ssl_verify off): HTTPS backends usually present cluster-internal certificates.
#pragma warning disable CA5359
            SslOptions = { RemoteCertificateValidationCallback = static (_, _, _, _) => true },
#pragma warning restore CA5359
        }));
        configure?.Invoke(services);

        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            kestrel.AddServerHeader = false;
            var certificates = kestrel.ApplicationServices.GetRequiredService<CertificateStore>();
            var ports = kestrel.ApplicationServices.GetRequiredService<ListenerPorts>();
            var rejected = kestrel.ApplicationServices.GetRequiredService<RejectedRequestAuditor>();
            kestrel.Listen(options.Http, l =>
            {
                ports.Register(ListenerKind.Http, l);
                rejected.Track(l, "http");
            });
            kestrel.Listen(options.Https, l =>
            {
                l.Protocols = HttpProtocols.Http1AndHttp2;
                l.UseHttps(new Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions
                {
                    SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    ServerCertificateSelector = (_, name) => certificates.Select(name),
                });
                ports.Register(ListenerKind.Https, l);
                rejected.Track(l, "https");
            });
            kestrel.Listen(options.Admin, l =>
            {
                ports.Register(ListenerKind.Admin, l);
                if (adminCertificate is not null)
                {
                    // The apiserver calls the admission webhook over HTTPS; a client certificate is optional.
                    l.UseHttps(new Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions
                    {
                        SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                        ServerCertificate = adminCertificate,
                    });
                }
            });
        });

        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<GatewayApp>();
        if (generatedToken is not null)
        {
            LogGeneratedAdminToken(logger, generatedToken);
        }

        var audit = app.Services.GetRequiredService<AuditLogService>();
        try
        {
            await audit.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or System.Security.Cryptography.CryptographicException)
        {
            await app.DisposeAsync();
            throw new OptionException($"--data '{options.Data}': cannot open the audit log: {e.Message}");
        }

        app.Services.GetRequiredService<BlockAuditor>();
        var pipeline = app.Services.GetRequiredService<ConfigPipeline>();
        await ConfigSources.LoadInitialAsync(app.Services, pipeline, cancellationToken);

        var auditWebhookToken = options.File.Admin?.AuditWebhookToken;
        app.MapWhen(
            context => ListenerPorts.IsOn(context, ListenerKind.Admin),
            admin => admin.UseRouting().UseAdminAuthentication().UseEndpoints(endpoints =>
            {
                AdminEndpoints.Map(endpoints);
                if (cluster is not null)
                {
                    WebhookEndpoints.Map(endpoints, auditWebhookToken);
                }
            }));
        var proxy = app.Services.GetRequiredService<ProxyMiddleware>();
        app.Run(proxy.InvokeAsync);

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new OptionException($"cannot listen: {e.Message} (check --http, --https and --admin)");
        }

        var stopping = new CancellationTokenSource();
        var sourceTask = ConfigSources.RunAsync(app.Services, pipeline, stopping.Token);
        return new GatewayApp(app, stopping, sourceTask);
    }

    private static void AddAudit(IServiceCollection services, GatewaySettings settings)
    {
        services.AddMetrics();
        services.AddSingleton(sp => settings.Audit with { TimeProvider = sp.GetRequiredService<TimeProvider>() });
        services.AddSingleton<AuditLogService>();
        services.AddSingleton<IAuditLog>(sp => sp.GetRequiredService<AuditLogService>());
        services.AddSingleton(new QueryRedactor(settings.RedactQueryParams));
    }

    private static void AddPolicy(IServiceCollection services, GatewaySettings settings)
    {
        services.AddSingleton(settings.Policy);
        services.AddSingleton(new ClientAddressResolver(settings.Policy.TrustedProxies));
        services.AddSingleton<IRateLimitStore, RateLimiter>();
        services.AddSingleton<IBlockList, InMemoryBlockList>();
        services.AddSingleton<BlockAuditor>();
        if (settings.Policy.ProbeDetection.Enabled)
        {
            services.AddSingleton(sp => new ProbeDetector(
                settings.Policy.ProbeDetection, sp.GetRequiredService<IBlockList>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ProbeDetector>>()));
        }

        if (settings.Jwt.Issuers.Count > 0)
        {
            services.AddSingleton(sp => JwtAuthenticator.Create(
                settings.Jwt, new HttpClient(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>()));
        }

        services.AddSingleton(sp => new PolicyEngine(settings.Policy, sp.GetRequiredService<IRateLimitStore>(), sp.GetService<JwtAuthenticator>()));
        services.AddSingleton(sp => new AdminAuthenticator(settings.Admin, sp.GetService<JwtAuthenticator>()));
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
