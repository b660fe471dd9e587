using System.Threading.Channels;
using AuditGateway.Kubernetes.Client;
using AuditGateway.Kubernetes.Informers;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.ControlPlane.Sources;

/// <summary>
/// Cluster mode's config source: informers for ingresses, ingressclasses, services,
/// endpointslices and TLS secrets. Changes arriving together are coalesced for
/// <see cref="Coalesce"/> into one batch per context; a batch is delivered once the one before it
/// has taken effect (the sink retries a failure), so events arriving meanwhile wait, in order, and
/// are not merged into it. <see cref="IConfigSink.MarkSynced"/> is called once every informer's
/// first full list has been applied.
/// </summary>
internal sealed class KubernetesConfigSource : IConfigSource
{
    public static readonly TimeSpan Coalesce = TimeSpan.FromMilliseconds(5);

    private readonly TimeProvider _time;
    private static readonly ChangeContext ListContext = new(ChangeVia.List, null);
    private static readonly ChangeContext WatchContext = new(ChangeVia.Watch, null);

    private readonly Channel<InformerUpdate> _updates = Channel.CreateUnbounded<InformerUpdate>(new UnboundedChannelOptions { SingleReader = true });

    public KubernetesConfigSource(KubeApiClient client, TimeProvider time, ILoggerFactory loggers, InformerOptions? options = null)
    {
        _time = time;
        options ??= new InformerOptions();
        var informerLogger = loggers.CreateLogger<ResourceInformer>();
        ValueTask Deliver(InformerUpdate update, CancellationToken ct) => _updates.Writer.WriteAsync(update, ct);
        Informers =
        [
            new ResourceInformer(client, KubeResourceType.Ingresses, null, options, time, informerLogger, Deliver),
            new ResourceInformer(client, KubeResourceType.IngressClasses, null, options, time, informerLogger, Deliver),
            new ResourceInformer(client, KubeResourceType.Services, null, options, time, informerLogger, Deliver),
            new ResourceInformer(client, KubeResourceType.EndpointSlices, null, options, time, informerLogger, Deliver),
            new ResourceInformer(client, KubeResourceType.Secrets, "type=" + Secret.TlsType, options, time, informerLogger, Deliver),
        ];
    }

    public IReadOnlyList<ResourceInformer> Informers { get; }

    public async Task RunAsync(IConfigSink sink, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var running = Informers.Select(i => Task.Run(() => i.RunAsync(stop.Token), CancellationToken.None)).ToList();
        var synced = new HashSet<ResourceInformer>();
        var marked = false;
        var reader = _updates.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                await Task.Delay(Coalesce, _time, cancellationToken);
                var pending = new List<InformerUpdate>();
                while (reader.TryRead(out var update))
                {
                    pending.Add(update);
                    if (update.Synced)
                    {
                        synced.Add(update.Informer);
                    }
                }

                // One batch per run of lists or of watch events, keeping order.
                for (var i = 0; i < pending.Count;)
                {
                    var listed = pending[i].Listed;
                    var context = listed ? ListContext : WatchContext;
                    var run = new List<ResourceChange>();
                    for (; i < pending.Count && pending[i].Listed == listed; i++)
                    {
                        run.AddRange(pending[i].Changes);
                    }

                    var merged = Merge(run);
                    if (merged.Count > 0)
                    {
                        // Returns once the batch took effect (retried meanwhile); later batches wait here, in order.
                        await sink.ApplyAsync(merged, context, cancellationToken);
                    }
                }

                if (!marked && synced.Count == Informers.Count)
                {
                    marked = true;
                    sink.MarkSynced();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Folds several changes to one object into one (first Old, last New); an add then delete vanishes.</summary>
    internal static List<ResourceChange> Merge(List<ResourceChange> changes)
    {
        var order = new List<ObjectKey>();
        var byKey = new Dictionary<ObjectKey, ResourceChange>();
        foreach (var change in changes)
        {
            if (byKey.TryGetValue(change.Key, out var earlier))
            {
                byKey[change.Key] = earlier with { New = change.New };
            }
            else
            {
                byKey[change.Key] = change;
                order.Add(change.Key);
            }
        }

        return [.. order.Select(k => byKey[k]).Where(c => c.Old is not null || c.New is not null)];
    }

}
