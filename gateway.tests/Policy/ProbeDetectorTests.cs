using System.Net;
using AuditGateway.Policy;
using AuditGateway.Tests.Common;
using Microsoft.Extensions.Logging.Abstractions;

namespace AuditGateway.Tests.Policy;

public sealed class ProbeDetectorTests : IDisposable
{
    private static readonly IPAddress Client = IPAddress.Parse("198.51.100.7");

    private readonly ManualTimeProvider _time = new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly InMemoryBlockList _blocks;
    private readonly ProbeDetector _detector;
    private readonly List<BlockChange> _changes = [];

    public ProbeDetectorTests()
    {
        _blocks = new InMemoryBlockList(_time, NullLogger<InMemoryBlockList>.Instance);
        _blocks.Changed += (_, change) => _changes.Add(change);
        _detector = Detector(ProbeDetectionOptions.Default);
    }

    public void Dispose()
    {
        _detector.Dispose();
        _blocks.Dispose();
    }

    [Theory]
    [InlineData("/.env")]
    [InlineData("/.ENV.bak")]
    [InlineData("/.git/config")]
    [InlineData("/wp-login.php")]
    [InlineData("/WP-Admin/setup.php")]
    [InlineData("/cgi-bin/test.cgi")]
    public void A_probe_path_blocks_at_once(string path)
    {
        var entry = _detector.Observe(Client, path, 404, routeless: true);

        Assert.NotNull(entry);
        Assert.Equal(ProbeDetector.ProbePathDetector, entry.Detector);
        Assert.Contains(path, entry.Evidence, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromMinutes(15), entry.ExpiresAt - entry.BlockedAt);
        Assert.True(_blocks.IsBlocked(Client, out _));
        Assert.Equal(BlockChangeKind.Blocked, Assert.Single(_changes).Kind);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/environment")]
    [InlineData("/api/.env")]
    [InlineData("/git/config")]
    public void Other_paths_do_not(string path)
    {
        Assert.Null(_detector.Observe(Client, path, 200, routeless: false));
        Assert.False(_blocks.IsBlocked(Client, out _));
    }

    [Fact]
    public void Long_paths_are_truncated_in_the_evidence()
    {
        var path = "/.env/" + new string('x', 5000);

        var entry = _detector.Observe(Client, path, 404, routeless: false);

        Assert.NotNull(entry);
        Assert.InRange(entry.Evidence.Length, 100, 300);
    }

    [Fact]
    public void More_than_max_denied_within_a_minute_blocks()
    {
        for (var i = 0; i < 20; i++)
        {
            Assert.Null(_detector.Observe(Client, $"/admin/{i}", i % 2 == 0 ? 401 : 403, routeless: false));
            _time.Advance(TimeSpan.FromSeconds(2));
        }

        var entry = _detector.Observe(Client, "/admin/last", 405, routeless: false);

        Assert.NotNull(entry);
        Assert.Equal(ProbeDetector.DeniedRateDetector, entry.Detector);
        Assert.Contains("21 denied", entry.Evidence, StringComparison.Ordinal);
        Assert.Contains("in 40s", entry.Evidence, StringComparison.Ordinal);
        Assert.Contains("/admin/16, /admin/17, /admin/18, /admin/19, /admin/last", entry.Evidence, StringComparison.Ordinal);
        Assert.DoesNotContain("/admin/15", entry.Evidence, StringComparison.Ordinal);
        Assert.True(_blocks.IsBlocked(Client, out _));
    }

    [Fact]
    public void The_minute_slides()
    {
        // 20 denied every 3 s: the 21st falls exactly one minute after the first, so never 21 within a minute.
        for (var i = 0; i < 100; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(i == 0 ? 0 : 3));
            Assert.Null(_detector.Observe(Client, "/x", 403, routeless: false));
        }

        // Anything faster trips it.
        _time.Advance(TimeSpan.FromSeconds(2.9));
        Assert.NotNull(_detector.Observe(Client, "/x", 403, routeless: false));
    }

    [Fact]
    public void Not_found_and_routeless_count_together()
    {
        for (var i = 0; i < 50; i++)
        {
            Assert.Null(_detector.Observe(Client, $"/missing/{i}", i % 2 == 0 ? 404 : 502, routeless: i % 2 != 0));
        }

        var entry = _detector.Observe(Client, "/missing/last", 404, routeless: false);

        Assert.NotNull(entry);
        Assert.Equal(ProbeDetector.NotFoundRateDetector, entry.Detector);
        Assert.Contains("51 not-found", entry.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Denied_and_not_found_are_counted_separately_and_per_client()
    {
        var other = IPAddress.Parse("2001:db8::7");
        for (var i = 0; i < 20; i++)
        {
            Assert.Null(_detector.Observe(Client, "/a", 403, routeless: false));
            Assert.Null(_detector.Observe(Client, "/b", 404, routeless: false));
            Assert.Null(_detector.Observe(other, "/a", 403, routeless: false));
        }

        Assert.Null(_detector.Observe(Client, "/ok", 200, routeless: false));
        Assert.NotNull(_detector.Observe(other, "/a", 401, routeless: false));
        Assert.False(_blocks.IsBlocked(Client, out _));
    }

    [Fact]
    public void Success_and_other_statuses_do_not_count()
    {
        for (var i = 0; i < 500; i++)
        {
            Assert.Null(_detector.Observe(Client, "/", i % 3 == 0 ? 200 : i % 3 == 1 ? 500 : 429, routeless: false));
        }

        Assert.Equal(0, _detector.TrackedClients);
    }

    [Fact]
    public void Block_expires_after_blockFor_and_counting_starts_afresh()
    {
        for (var i = 0; i <= 20; i++)
        {
            _detector.Observe(Client, "/x", 403, routeless: false);
        }

        Assert.True(_blocks.IsBlocked(Client, out _));
        _time.Advance(TimeSpan.FromMinutes(15));
        Assert.False(_blocks.IsBlocked(Client, out _));
        Assert.Equal([BlockChangeKind.Blocked, BlockChangeKind.Unblocked], _changes.Select(c => c.Kind));

        Assert.Null(_detector.Observe(Client, "/x", 403, routeless: false));
    }

    [Fact]
    public void Blocked_clients_are_not_counted_again()
    {
        _blocks.Block(Client, TimeSpan.FromMinutes(1), "operator", "");

        Assert.Null(_detector.Observe(Client, "/.env", 403, routeless: false));
        Assert.Single(_changes);
    }

    [Fact]
    public void Disabled_detection_does_nothing()
    {
        using var detector = Detector(ProbeDetectionOptions.Default with { Enabled = false });

        Assert.Null(detector.Observe(Client, "/.env", 404, routeless: true));
        Assert.Empty(_changes);
    }

    [Fact]
    public void Idle_clients_are_forgotten_and_memory_is_capped()
    {
        using var detector = new ProbeDetector(ProbeDetectionOptions.Default, _blocks, _time, NullLogger<ProbeDetector>.Instance, maxClients: 50);
        for (var i = 0; i < 50; i++)
        {
            detector.Observe(IPAddress.Parse($"192.0.2.{i}"), "/x", 404, routeless: false);
        }

        Assert.Equal(50, detector.TrackedClients);
        detector.Observe(IPAddress.Parse("192.0.2.200"), "/x", 404, routeless: false);
        Assert.Equal(45, detector.TrackedClients);

        _time.Advance(TimeSpan.FromSeconds(70));
        Assert.Equal(0, detector.TrackedClients);
    }

    private ProbeDetector Detector(ProbeDetectionOptions options) =>
        new(options, _blocks, _time, NullLogger<ProbeDetector>.Instance);
}
