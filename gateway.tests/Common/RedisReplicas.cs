using AuditGateway.Demo;

namespace AuditGateway.Tests.Common;

/// <summary>
/// Gateway processes (<see cref="ReplicaSet"/>) sharing one real redis-server, with one echo backend:
/// by default all serving <see cref="Host"/> from it. The set-up of the replica tests.
/// </summary>
internal sealed class RedisReplicas : IAsyncDisposable
{
    public const string Host = "app.test";

    private EchoBackend? _backend;
    private RedisServer? _redis;
    private ReplicaSet? _replicas;

    public ReplicaSet Replicas => _replicas ?? throw new InvalidOperationException("not started");

    public RedisServer Redis => _redis ?? throw new InvalidOperationException("not started");

    /// <param name="ingresses">The Ingresses (their manifests) in front of the backend Service <c>web</c>; default: <see cref="Host"/> to it.</param>
    /// <param name="redisKeys">More keys of the replicas' <c>redis:</c> section, one per line.</param>
    public static async Task<RedisReplicas> StartAsync(int count, string[]? ingresses = null, string redisKeys = "")
    {
        var set = new RedisReplicas();
        try
        {
            set._backend = await EchoBackend.StartAsync("web");
            set._redis = await RedisServer.StartAsync();
            set._replicas = await ReplicaSet.StartAsync(
                count,
                set._redis.Url,
                Manifests.Documents([Manifests.Backend("web", set._backend.Port), .. ingresses ?? [Manifests.Ingress("app", [new HostRule(Host, new PathRule("/", "Prefix", "web", 80))])]]),
                redisKeys: redisKeys);
            return set;
        }
        catch
        {
            await set.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_replicas is not null)
        {
            await _replicas.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }
    }
}
