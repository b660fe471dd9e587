using System.Diagnostics.Metrics;
using AuditGateway.Audit;
using AuditGateway.Policy;

namespace AuditGateway.Redis;

/// <summary>
/// The parts replicas share through Redis (docs/replicas.md), registered only with <c>redis.connection</c>
/// set: the link, the shared block list and rate limits over this node's own, the checkpoint witness,
/// and, in cluster mode, the shared attribution; with <c>redis.streamEntries</c>, the entry stream.
/// Without Redis the single-node parts are registered as before.
/// </summary>
internal static class ReplicaServices
{
    public static void AddPolicyState(IServiceCollection services, RedisOptions redis, string node)
    {
        if (!redis.Enabled)
        {
            services.AddSingleton<IRateLimitStore, RateLimiter>();
            services.AddSingleton<IBlockList, InMemoryBlockList>();
            return;
        }

        services.AddSingleton(sp => new RedisLink(
            redis, node, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IAuditLog>(), sp.GetRequiredService<IMeterFactory>(), sp.GetRequiredService<ILogger<RedisLink>>()));
        services.AddSingleton<RateLimiter>();
        services.AddSingleton<IRateLimitStore>(sp => new SharedRateLimiter(sp.GetRequiredService<RedisLink>(), sp.GetRequiredService<RateLimiter>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<InMemoryBlockList>();
        services.AddSingleton<IBlockList, SharedBlockList>();
        services.AddSingleton<CheckpointWitness>();
        services.AddSingleton<ReplicaViews>();
        if (redis.StreamEntries)
        {
            services.AddSingleton<EntryStream>();
        }
    }

    /// <summary>In cluster mode (where the webhooks are): their reports shared with the other replicas.</summary>
    public static void AddAttribution(IServiceCollection services, RedisOptions redis)
    {
        if (redis.Enabled)
        {
            services.AddSingleton<SharedAttribution>();
        }
    }

    /// <summary>Creates the shared parts (so they hear the first connection) and starts connecting; returns at once.</summary>
    public static void Start(IServiceProvider services)
    {
        if (services.GetService<RedisLink>() is not { } link)
        {
            return;
        }

        services.GetRequiredService<IBlockList>();
        services.GetRequiredService<IRateLimitStore>();
        services.GetService<SharedAttribution>();
        services.GetRequiredService<CheckpointWitness>();
        services.GetRequiredService<ReplicaViews>();
        services.GetService<EntryStream>()?.Start();
        link.Start();
    }
}
