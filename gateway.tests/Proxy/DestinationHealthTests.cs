using AuditGateway.Proxy;
using AuditGateway.Routing;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Proxy;

/// <summary>Passive health on a manual clock: the backoff, choosing around skipped endpoints, and the bound on its state.</summary>
public sealed class DestinationHealthTests
{
    private const string A = "http://10.0.0.1:80";
    private const string B = "http://10.0.0.2:80";
    private const string C = "http://10.0.0.3:80";

    private readonly ManualTimeProvider _clock = new();
    private readonly RoutingState _routing = new();
    private readonly DestinationHealth _health;

    public DestinationHealthTests()
    {
        _routing.Swap(Table(A, B, C));
        _health = new DestinationHealth(_routing, _clock);
    }

    private static RouteTable Table(params string[] destinations) => new()
    {
        Routes = [new IngressRoute
        {
            Id = "default/pool/0",
            Namespace = "default",
            Ingress = "pool",
            Backend = new RouteBackend { Service = "pool", Port = "80", DestinationPrefixes = destinations },
        }],
    };

    [Fact]
    public void Skipped_for_10_s_then_doubling_on_each_failure_after_it_up_to_the_cap_and_cleared_by_a_success()
    {
        var expected = new[] { 10, 20, 40, 80, 120, 120 };
        foreach (var seconds in expected)
        {
            _health.Failed(A);
            Assert.True(_health.IsSkipped(A));
            _clock.Advance(TimeSpan.FromSeconds(seconds) - TimeSpan.FromTicks(1));
            Assert.True(_health.IsSkipped(A), $"still skipped just before {seconds} s");
            _clock.Advance(TimeSpan.FromTicks(1));
            Assert.False(_health.IsSkipped(A), $"tried again after {seconds} s");
        }

        _health.Succeeded(A);
        Assert.Equal(0, _health.Count);
        _health.Failed(A);
        _clock.Advance(DestinationHealth.InitialBackoff);
        Assert.False(_health.IsSkipped(A), "a success starts the backoff afresh");
    }

    [Fact]
    public void Failures_of_requests_in_flight_while_skipped_do_not_lengthen_it()
    {
        _health.Failed(A);
        _clock.Advance(TimeSpan.FromSeconds(5));
        _health.Failed(A);
        _health.Failed(A);
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.False(_health.IsSkipped(A));
    }

    [Fact]
    public void Choose_goes_round_skipped_endpoints_and_still_tries_one_when_all_are_skipped()
    {
        string[] destinations = [A, B, C];
        Assert.Equal(0, _health.Choose(destinations, 0));
        _health.Failed(A);
        Assert.Equal(1, _health.Choose(destinations, 0));
        Assert.Equal(2, _health.Choose(destinations, 2));

        // A retry: another endpoint than the one that failed, never a skipped one.
        Assert.Equal(2, _health.Choose(destinations, 1, exclude: 1));
        _health.Failed(C);
        Assert.Equal(-1, _health.Choose(destinations, 2, exclude: 1));

        _health.Failed(B);
        Assert.Equal(2, _health.Choose(destinations, 2));
        Assert.Equal(-1, _health.Choose(destinations, 0, exclude: 0));
    }

    [Fact]
    public void State_is_bounded_by_the_route_table_in_force()
    {
        // Destinations the table does not hold are not remembered, however many fail.
        for (var i = 0; i < 10_000; i++)
        {
            _health.Failed($"http://10.1.{i / 256}.{i % 256}:80");
        }

        Assert.Equal(0, _health.Count);
        _health.Failed(A);
        _health.Failed(B);
        Assert.Equal(2, _health.Count);

        // A new table without A: A's state goes; B's stays.
        _routing.Swap(Table(B, C));
        Assert.Equal(1, _health.Count);
        Assert.False(_health.IsSkipped(A));
        Assert.True(_health.IsSkipped(B));

        // A back in a later table starts healthy.
        _routing.Swap(Table(A, B));
        Assert.Equal(0, _health.Choose([A, B], 0));
    }
}
