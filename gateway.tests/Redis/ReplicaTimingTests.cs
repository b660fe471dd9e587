namespace AuditGateway.Tests.Redis;

/// <summary>
/// The replica tests that measure time (block propagation, convergence after an outage, p99 under a paused
/// Redis, accepted rates): they run alone, after the parallel tests, so three gateway processes are not
/// measured while the rest of the suite shares the two cores.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReplicaTimingTests
{
    public const string Name = "replica timing";
}
