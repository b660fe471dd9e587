using System.Net;
using System.Security.Cryptography;
using System.Text;
using AuditGateway.Kubernetes.Client;
using AuditGateway.Kubernetes.Election;
using AuditGateway.Kubernetes.Models;
using AuditGateway.Routing;

namespace AuditGateway.ControlPlane.Status;

internal sealed record StatusOptions
{
    /// <summary><c>--publish-service NS/NAME</c>: its load-balancer addresses, else its external and cluster IPs.</summary>
    public string? PublishService { get; init; }

    /// <summary><c>--publish-address IP|HOSTNAME</c>.</summary>
    public string? PublishAddress { get; init; }

    /// <summary>How often the leader re-checks status and the published service even without changes.</summary>
    public TimeSpan Resync { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// What only the leader writes: <c>status.loadBalancer.ingress</c> of every Ingress this gateway
/// accepts, and a Warning Event (reason <c>ConfigRefused</c>) once per refusal of an Ingress,
/// with the validation message.
/// </summary>
internal sealed partial class IngressStatusController(
    KubeApiClient client,
    LeaderElector elector,
    RoutingState state,
    ConfigPipeline pipeline,
    StatusOptions options,
    TimeProvider time,
    ILogger<IngressStatusController> logger)
{
    public const string RefusedReason = "ConfigRefused";

    private readonly HashSet<string> _eventsSent = new(StringComparer.Ordinal);
    private int _statusWrites;

    /// <summary>How many status updates this replica has written.</summary>
    public int StatusWrites => Volatile.Read(ref _statusWrites);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var changed = state.Changed;
                var leadership = elector.Changed;
                var retry = options.Resync;
                if (elector.IsLeader && state.Synced)
                {
                    try
                    {
                        if (!await ReconcileAsync(cancellationToken))
                        {
                            retry = elector.Options.RetryPeriod;
                        }
                    }
                    catch (Exception e) when (e is KubeApiException or HttpRequestException or TimeoutException or System.Text.Json.JsonException or IOException)
                    {
                        LogReconcileFailed(logger, e.Message);
                        retry = elector.Options.RetryPeriod;
                    }
                }

                await Task.WhenAny(changed, leadership, Task.Delay(retry, time, cancellationToken));
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>One pass; false when something must be retried soon.</summary>
    internal async Task<bool> ReconcileAsync(CancellationToken cancellationToken)
    {
        var complete = true;
        var table = state.Current;
        var objects = pipeline.Objects;
        var addresses = await AddressesAsync(cancellationToken);
        foreach (var report in table.Ingresses)
        {
            var slash = report.Ingress.IndexOf('/', StringComparison.Ordinal);
            var key = new ObjectKey(ResourceKind.Ingress, report.Ingress[..slash], report.Ingress[(slash + 1)..]);
            if (!objects.TryGetValue(key, out var resource) || resource.Object is not Ingress ingress)
            {
                complete = false;
                continue;
            }

            if (report.Errors.Count > 0 && !await EventAsync(key, ingress, report, cancellationToken))
            {
                complete = false;
            }

            if (addresses is null || report.Status == IngressOutcome.Refused || SameAddresses(ingress.Status?.LoadBalancer?.Ingress, addresses))
            {
                continue;
            }

            try
            {
                await client.UpdateStatusAsync(KubeResourceType.Ingresses, key.Namespace, key.Name,
                    ingress with { Status = new IngressStatus { LoadBalancer = new IngressLoadBalancerStatus { Ingress = addresses } } },
                    KubeJsonContext.Default.Ingress, cancellationToken);
                Interlocked.Increment(ref _statusWrites);
            }
            catch (KubeApiException e) when (e.IsConflict || e.IsNotFound)
            {
                // The watch brings the newer version (or the delete); the next pass sees it.
                complete = false;
            }
        }

        return complete;
    }

    private async Task<IReadOnlyList<IngressLoadBalancerIngress>?> AddressesAsync(CancellationToken cancellationToken)
    {
        if (options.PublishAddress is { Length: > 0 } address)
        {
            return [IPAddress.TryParse(address, out _) ? new IngressLoadBalancerIngress { Ip = address } : new IngressLoadBalancerIngress { Hostname = address }];
        }

        if (options.PublishService is not { Length: > 0 } published)
        {
            return null;
        }

        var slash = published.IndexOf('/', StringComparison.Ordinal);
        var service = await client.GetAsync(KubeResourceType.Services, published[..slash], published[(slash + 1)..], KubeJsonContext.Default.Service, cancellationToken);
        if (service is null)
        {
            LogNoService(logger, published);
            return null;
        }

        if (service.Status?.LoadBalancer?.Ingress is { Count: > 0 } balanced)
        {
            return [.. balanced.Select(b => new IngressLoadBalancerIngress { Ip = b.Ip, Hostname = b.Hostname })];
        }

        var ips = (service.Spec?.ExternalIPs ?? []).ToList();
        if (service.Spec?.ClusterIP is { Length: > 0 } clusterIp && clusterIp != "None")
        {
            ips.Add(clusterIp);
        }

        return [.. ips.Select(ip => new IngressLoadBalancerIngress { Ip = ip })];
    }

    private static bool SameAddresses(IReadOnlyList<IngressLoadBalancerIngress>? current, IReadOnlyList<IngressLoadBalancerIngress> wanted) =>
        (current ?? []).Select(a => (a.Ip, a.Hostname)).SequenceEqual(wanted.Select(a => (a.Ip, a.Hostname)));

    /// <summary>A Warning Event for a refused Ingress, once per (uid, message); false when it must be retried.</summary>
    private async Task<bool> EventAsync(ObjectKey key, Ingress ingress, IngressReport report, CancellationToken cancellationToken)
    {
        var message = string.Join("; ", report.Errors);
        var serving = report.Status == IngressOutcome.Refused ? "not served" : "its previous valid version keeps serving";
        var dedup = $"{ingress.Metadata?.Uid}|{message}";
        if (_eventsSent.Contains(dedup))
        {
            return true;
        }

        var now = time.GetUtcNow();
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(dedup)))[..16];
        var identity = elector.Options.Identity;
        try
        {
            await client.CreateAsync(KubeResourceType.Events, key.Namespace, new Event
            {
                Metadata = new ObjectMeta { Name = $"{key.Name}.{hash}", Namespace = key.Namespace },
                InvolvedObject = new ObjectReference
                {
                    ApiVersion = "networking.k8s.io/v1",
                    Kind = "Ingress",
                    Namespace = key.Namespace,
                    Name = key.Name,
                    Uid = ingress.Metadata?.Uid,
                    ResourceVersion = ingress.Metadata?.ResourceVersion,
                },
                Reason = RefusedReason,
                Message = $"{message} ({serving})",
                Type = "Warning",
                Source = new EventSource { Component = "auditgateway", Host = identity },
                FirstTimestamp = now,
                LastTimestamp = now,
                Count = 1,
                ReportingComponent = "auditgateway.io/ingress-controller",
                ReportingInstance = identity,
            }, KubeJsonContext.Default.Event, cancellationToken);
        }
        catch (KubeApiException e) when (e.IsAlreadyExists)
        {
            // Another leader (or an earlier life of this one) reported it already.
        }

        if (_eventsSent.Count >= 4096)
        {
            _eventsSent.Clear();
        }

        _eventsSent.Add(dedup);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ingress status: {Problem}")]
    private static partial void LogReconcileFailed(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ingress status: --publish-service {Service} does not exist; no status is written")]
    private static partial void LogNoService(ILogger logger, string service);
}
