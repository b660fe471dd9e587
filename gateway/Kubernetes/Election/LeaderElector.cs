using AuditGateway.Kubernetes.Client;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.Kubernetes.Election;

internal sealed record LeaderElectionOptions
{
    /// <summary>The Lease's name (<c>--election-id</c>).</summary>
    public string Name { get; init; } = "auditgateway-leader";

    /// <summary>The Lease's namespace: the pod's, else the kubeconfig context's, else default.</summary>
    public string Namespace { get; init; } = "default";

    /// <summary><c>holderIdentity</c>: this node's name.</summary>
    public required string Identity { get; init; }

    /// <summary>How long a lease holds without renewal before another candidate may take it.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>A leader that has not renewed for this long steps down (before the lease expires for the others).</summary>
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often candidates try, and the leader renews.</summary>
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Lease-based leader election as client-go's <c>leaderelection</c> does it: a candidate takes a
/// coordination.k8s.io/v1 Lease whose holder has not renewed it for <c>leaseDuration</c> (measured
/// on the local clock from when the candidate last saw the record change, so clock skew does not
/// matter); writes are conditional on resourceVersion; the leader renews every retry period and
/// steps down if it could not renew within the renew deadline; on stop it releases the lease.
/// </summary>
internal sealed partial class LeaderElector(KubeApiClient client, LeaderElectionOptions options, TimeProvider time, ILogger<LeaderElector> logger)
{
    private readonly object _lock = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _isLeader;
    private string? _observedRecord;
    private DateTimeOffset _observedAt;
    private DateTimeOffset _lastRenew;

    public LeaderElectionOptions Options => options;

    public bool IsLeader => _isLeader;

    /// <summary>Completes at the next change of <see cref="IsLeader"/>.</summary>
    public Task Changed
    {
        get
        {
            lock (_lock)
            {
                return _changed.Task;
            }
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                bool renewed;
                try
                {
                    renewed = await TryAcquireOrRenewAsync(cancellationToken);
                }
                catch (Exception e) when (e is KubeApiException or HttpRequestException or TimeoutException or System.Text.Json.JsonException or IOException)
                {
                    LogElectionError(logger, options.Namespace, options.Name, e.Message);
                    renewed = false;
                }

                var now = time.GetUtcNow();
                if (renewed)
                {
                    _lastRenew = now;
                    SetLeader(true);
                }
                else if (_isLeader && now - _lastRenew >= options.RenewDeadline)
                {
                    SetLeader(false);
                }

                await Task.Delay(options.RetryPeriod, time, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            if (_isLeader)
            {
                await ReleaseAsync();
                SetLeader(false);
            }
        }
    }

    /// <summary>One attempt: true when this candidate holds the lease afterwards.</summary>
    internal async Task<bool> TryAcquireOrRenewAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var lease = await client.GetAsync(KubeResourceType.Leases, options.Namespace, options.Name, KubeJsonContext.Default.Lease, cancellationToken);
        var seconds = (int)Math.Ceiling(options.LeaseDuration.TotalSeconds);
        if (lease is null)
        {
            try
            {
                await client.CreateAsync(KubeResourceType.Leases, options.Namespace, new Lease
                {
                    Metadata = new ObjectMeta { Name = options.Name, Namespace = options.Namespace },
                    Spec = new LeaseSpec
                    {
                        HolderIdentity = options.Identity,
                        LeaseDurationSeconds = seconds,
                        AcquireTime = KubeTime.Micro(now),
                        RenewTime = KubeTime.Micro(now),
                        LeaseTransitions = 0,
                    },
                }, KubeJsonContext.Default.Lease, cancellationToken);
                return true;
            }
            catch (KubeApiException e) when (e.IsAlreadyExists || e.IsConflict)
            {
                return false;
            }
        }

        var spec = lease.Spec ?? new LeaseSpec();
        var record = $"{spec.HolderIdentity}|{spec.RenewTime}|{spec.AcquireTime}";
        if (record != _observedRecord)
        {
            _observedRecord = record;
            _observedAt = now;
        }

        var mine = spec.HolderIdentity == options.Identity;
        var duration = spec.LeaseDurationSeconds is { } d and > 0 ? TimeSpan.FromSeconds(d) : options.LeaseDuration;
        if (!mine && !string.IsNullOrEmpty(spec.HolderIdentity) && _observedAt + duration > now)
        {
            return false;
        }

        var next = spec with
        {
            HolderIdentity = options.Identity,
            LeaseDurationSeconds = seconds,
            RenewTime = KubeTime.Micro(now),
            AcquireTime = mine ? spec.AcquireTime : KubeTime.Micro(now),
            LeaseTransitions = mine ? spec.LeaseTransitions : (spec.LeaseTransitions ?? 0) + 1,
        };
        try
        {
            var updated = await client.UpdateAsync(KubeResourceType.Leases, options.Namespace, options.Name, lease with { Spec = next }, KubeJsonContext.Default.Lease, cancellationToken);
            var s = updated.Spec!;
            _observedRecord = $"{s.HolderIdentity}|{s.RenewTime}|{s.AcquireTime}";
            _observedAt = now;
            if (!mine)
            {
                LogAcquired(logger, options.Namespace, options.Name, options.Identity, spec.HolderIdentity ?? "nobody");
            }

            return true;
        }
        catch (KubeApiException e) when (e.IsConflict)
        {
            return false;
        }
    }

    /// <summary>Gives the lease up so another replica need not wait for it to expire.</summary>
    private async Task ReleaseAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2), time);
            var lease = await client.GetAsync(KubeResourceType.Leases, options.Namespace, options.Name, KubeJsonContext.Default.Lease, timeout.Token);
            if (lease?.Spec?.HolderIdentity != options.Identity)
            {
                return;
            }

            var now = KubeTime.Micro(time.GetUtcNow());
            await client.UpdateAsync(KubeResourceType.Leases, options.Namespace, options.Name,
                lease with { Spec = lease.Spec with { HolderIdentity = null, LeaseDurationSeconds = 1, RenewTime = now } },
                KubeJsonContext.Default.Lease, timeout.Token);
            LogReleased(logger, options.Namespace, options.Name, options.Identity);
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or TimeoutException or OperationCanceledException or IOException)
        {
            LogElectionError(logger, options.Namespace, options.Name, "release: " + e.Message);
        }
    }

    private void SetLeader(bool leader)
    {
        if (_isLeader == leader)
        {
            return;
        }

        _isLeader = leader;
        TaskCompletionSource signal;
        lock (_lock)
        {
            signal = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        LogLeadership(logger, options.Identity, leader ? "is now" : "is no longer", options.Namespace, options.Name);
        signal.TrySetResult();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Identity} {What} the leader (lease {Namespace}/{Name})")]
    private static partial void LogLeadership(ILogger logger, string identity, string what, string @namespace, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Lease {Namespace}/{Name} acquired by {Identity} (previous holder {Previous})")]
    private static partial void LogAcquired(ILogger logger, string @namespace, string name, string identity, string previous);

    [LoggerMessage(Level = LogLevel.Information, Message = "Lease {Namespace}/{Name} released by {Identity}")]
    private static partial void LogReleased(ILogger logger, string @namespace, string name, string identity);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leader election on lease {Namespace}/{Name}: {Problem}")]
    private static partial void LogElectionError(ILogger logger, string @namespace, string name, string problem);
}
