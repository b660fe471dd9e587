namespace AuditGateway.Tests.Redis;

/// <summary>
/// The tests with gateway processes and a real redis-server: they run one at a time, after the parallel
/// tests, so the timing ones (block propagation, convergence after an outage, p99 under a paused Redis,
/// accepted rates) are not measured while the rest of the suite shares the two cores, and the suite's
/// other timing tests do not share them with three gateways.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReplicaTimingTests
{
    public const string Name = "redis replicas";
}
