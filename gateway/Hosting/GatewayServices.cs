using System.Net;
using AuditGateway.Admin;
using AuditGateway.Audit.Writer;
using AuditGateway.ControlPlane;
using AuditGateway.Kubernetes.Client;
using AuditGateway.Policy;
using AuditGateway.Policy.Identity;
using AuditGateway.Proxy;
using AuditGateway.Redis;
using AuditGateway.Reports;
using AuditGateway.Routing;
using AuditGateway.Telemetry;

namespace AuditGateway.Hosting;

/// <summary>
/// Everything one gateway is made of, registered once: the audit log, policy, the control plane and
/// its config source, and the request path. What runs when, and in which order, is
/// <see cref="GatewayApp.StartAsync"/>'s job, not this one's.
/// </summary>
internal static class GatewayServices
{
    public static void Add(IServiceCollection services, GatewayOptions options, GatewaySettings settings, KubeClientConfig? cluster)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddSingleton(settings);
        services.AddAuditLog(settings.Audit);
        AddPolicy(services, options, settings);
        AddControlPlane(services, options);
        ConfigSources.Add(services, options, cluster);
        if (cluster is not null)
        {
            ReplicaServices.AddAttribution(services, settings.Redis);
        }

        TelemetryServices.Add(services, settings.Telemetry, options.Node);
        AddRequestPath(services, settings);
        services.AddSingleton<LiveReports>();
        services.AddSingleton<RollupMaintainer>();
    }

    private static void AddPolicy(IServiceCollection services, GatewayOptions options, GatewaySettings settings)
    {
        services.AddSingleton(settings.Policy);
        services.AddSingleton(new ClientAddressResolver(settings.Policy.TrustedProxies));
        ReplicaServices.AddPolicyState(services, settings.Redis, options.Node);
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
        services.AddSingleton<AdminReads>();
    }

    private static void AddControlPlane(IServiceCollection services, GatewayOptions options)
    {
        services.AddSingleton(new ClassOptions
        {
            ClassName = options.IngressClass,
            ControllerName = options.ControllerName,
            WatchIngressWithoutClass = options.WatchIngressWithoutClass,
        });
        services.AddSingleton<RoutingState>();
        services.AddSingleton<ConfigChangeRecorder>();
        services.AddSingleton(ReconcileRetry.Default);
        services.AddSingleton<CertificateStore>();
        services.AddSingleton<IRouteTableApplier>(sp => sp.GetRequiredService<CertificateStore>());
        services.AddSingleton<ConfigPipeline>();
    }

    private static void AddRequestPath(IServiceCollection services, GatewaySettings settings)
    {
        services.AddSingleton(new QueryRedactor(settings.RedactQueryParams));
        services.AddSingleton<ListenerPorts>();
        services.AddSingleton<AuditGate>();
        services.AddSingleton<DestinationHealth>();
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
            // No activity or trace header from the handler: the gateway writes the one traceparent a backend gets
            // (ForwardingTransformer), from its CLIENT span when the request is traced.
            ActivityHeadersPropagator = null,
            // Like ingress-nginx (proxy_ssl_verify off): HTTPS backends usually present cluster-internal certificates.
#pragma warning disable CA5359
            SslOptions = { RemoteCertificateValidationCallback = static (_, _, _, _) => true },
#pragma warning restore CA5359
        }));
    }
}
