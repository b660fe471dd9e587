using AuditGateway.Configuration;
using AuditGateway.ControlPlane;
using AuditGateway.ControlPlane.Attribution;
using AuditGateway.ControlPlane.Sources;
using AuditGateway.ControlPlane.Status;
using AuditGateway.Kubernetes.Client;
using AuditGateway.Kubernetes.Election;
using AuditGateway.Routing;

namespace AuditGateway.Hosting;

/// <summary>
/// Chooses the config source (docs/README.md): a manifest directory (embedded mode), or the
/// Kubernetes API from <c>--kubeconfig</c> or the pod's service account (cluster mode), and
/// registers it — with, in cluster mode, the webhooks' correlation store, leader election and
/// the status writer.
/// </summary>
internal static class ConfigSources
{
    /// <summary>The cluster connection, or null in embedded mode. Throws <see cref="OptionException"/> for bad input.</summary>
    public static KubeClientConfig? ResolveCluster(GatewayOptions options, Func<string, string?> environment)
    {
        if (options.Manifests is not null)
        {
            return options.Kubeconfig is null
                ? null
                : throw new OptionException($"--manifests '{options.Manifests}' and --kubeconfig '{options.Kubeconfig}': give one (embedded or cluster mode), not both");
        }

        try
        {
            if (options.Kubeconfig is { } path)
            {
                return KubeClientConfig.FromKubeconfig(path);
            }

            if (!string.IsNullOrEmpty(environment("KUBERNETES_SERVICE_HOST")))
            {
                return KubeClientConfig.FromInCluster(environment: environment);
            }
        }
        catch (KubeConfigException e)
        {
            throw new OptionException(e.Message.StartsWith("kubeconfig ", StringComparison.Ordinal) ? "--" + e.Message : "in-cluster configuration: " + e.Message);
        }

        throw new OptionException("--manifests DIR (embedded mode) or --kubeconfig FILE (cluster mode) is required; in a pod, cluster mode is the default");
    }

    public static void Add(IServiceCollection services, GatewayOptions options, KubeClientConfig? cluster)
    {
        if (cluster is null)
        {
            services.AddSingleton(sp => new ManifestDirectorySource(
                options.Manifests!, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ManifestDirectorySource>>()));
            services.AddSingleton<IConfigSource>(sp => sp.GetRequiredService<ManifestDirectorySource>());
            return;
        }

        services.AddSingleton(sp => new KubeApiClient(cluster, sp.GetRequiredService<ILogger<KubeApiClient>>()));
        services.AddSingleton(sp => new KubernetesConfigSource(
            sp.GetRequiredService<KubeApiClient>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<IConfigSource>(sp => sp.GetRequiredService<KubernetesConfigSource>());
        services.AddSingleton(sp => new AttributionStore(sp.GetRequiredService<TimeProvider>(), expectAudit: options.File.Admin?.AuditWebhookToken is not null));
        services.AddSingleton<IChangeAttributor>(sp => new ClusterAttributor(sp.GetRequiredService<AttributionStore>()));
        services.AddSingleton(sp => new AdmissionWebhook(
            sp.GetRequiredService<AttributionStore>(),
            sp.GetRequiredService<ClassOptions>(),
            () => sp.GetRequiredService<ConfigPipeline>().IngressClasses,
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new AuditWebhook(sp.GetRequiredService<AttributionStore>(), sp.GetRequiredService<TimeProvider>()));
        var timings = options.Election;
        services.AddSingleton(sp => new LeaderElector(
            sp.GetRequiredService<KubeApiClient>(),
            new LeaderElectionOptions
            {
                Name = options.ElectionId,
                Namespace = options.Namespace ?? cluster.Namespace,
                Identity = options.Node,
                LeaseDuration = TimeSpan.FromSeconds(timings.LeaseSeconds),
                RenewDeadline = TimeSpan.FromSeconds(timings.RenewSeconds),
                RetryPeriod = TimeSpan.FromSeconds(timings.RetrySeconds),
            },
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<LeaderElector>>()));
        services.AddSingleton(sp => new IngressStatusController(
            sp.GetRequiredService<KubeApiClient>(),
            sp.GetRequiredService<LeaderElector>(),
            sp.GetRequiredService<RoutingState>(),
            sp.GetRequiredService<ConfigPipeline>(),
            new StatusOptions { PublishService = options.PublishService, PublishAddress = options.PublishAddress },
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<IngressStatusController>>()));
    }

    /// <summary>Loads what must be in force before the listeners open: the manifests (embedded); nothing in cluster mode (readiness waits for the first sync).</summary>
    public static async Task LoadInitialAsync(IServiceProvider services, ConfigPipeline pipeline, CancellationToken cancellationToken)
    {
        if (services.GetService<ManifestDirectorySource>() is { } manifests)
        {
            await manifests.LoadInitialAsync(pipeline, cancellationToken);
        }
    }

    /// <summary>Runs the source, and in cluster mode leader election and the status writer, until cancelled.</summary>
    public static Task RunAsync(IServiceProvider services, ConfigPipeline pipeline, CancellationToken cancellationToken)
    {
        var tasks = new List<Task> { Task.Run(() => services.GetRequiredService<IConfigSource>().RunAsync(pipeline, cancellationToken), CancellationToken.None) };
        if (services.GetService<LeaderElector>() is { } elector)
        {
            tasks.Add(Task.Run(() => elector.RunAsync(cancellationToken), CancellationToken.None));
            tasks.Add(Task.Run(() => services.GetRequiredService<IngressStatusController>().RunAsync(cancellationToken), CancellationToken.None));
        }

        return Task.WhenAll(tasks);
    }
}
