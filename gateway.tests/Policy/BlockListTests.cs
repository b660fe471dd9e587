using System.Net;
using AuditGateway.Policy;
using AuditGateway.Tests.Common;
using Microsoft.Extensions.Logging.Abstractions;

namespace AuditGateway.Tests.Policy;

public sealed class BlockListTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly IPAddress Client = IPAddress.Parse("192.0.2.1");

    private readonly ManualTimeProvider _time = new(Start);
    private readonly InMemoryBlockList _blocks;
    private readonly List<BlockChange> _changes = [];

    public BlockListTests()
    {
        _blocks = new InMemoryBlockList(_time, NullLogger<InMemoryBlockList>.Instance);
        _blocks.Changed += (_, change) => _changes.Add(change);
    }

    public void Dispose() => _blocks.Dispose();

    [Fact]
    public void Block_then_lookup_raises_an_event()
    {
        var entry = _blocks.Block(Client, TimeSpan.FromMinutes(15), "probe-path", "requested /.env");

        Assert.True(_blocks.IsBlocked(Client, out var found));
        Assert.Same(entry, found);
        Assert.Equal(Start + TimeSpan.FromMinutes(15), entry.ExpiresAt);
        var change = Assert.Single(_changes);
        Assert.Equal(new BlockChange(BlockChangeKind.Blocked, entry, "probe-path", Start), change);
        Assert.False(_blocks.IsBlocked(IPAddress.Parse("192.0.2.2"), out _));
    }

    [Fact]
    public void Mapped_addresses_are_the_same_client()
    {
        _blocks.Block(IPAddress.Parse("::ffff:192.0.2.1"), TimeSpan.FromMinutes(1), "operator", "");

        Assert.True(_blocks.IsBlocked(Client, out var entry));
        Assert.Equal(Client, entry.Address);
        Assert.True(_blocks.Unblock(IPAddress.Parse("::ffff:192.0.2.1"), "alice"));
    }

    [Fact]
    public void Expires_after_its_duration_on_lookup()
    {
        _blocks.Block(Client, TimeSpan.FromMinutes(15), "denied-rate", "21 denied");

        _time.SetUtcNow(Start + TimeSpan.FromMinutes(15) - TimeSpan.FromTicks(1));
        Assert.True(_blocks.IsBlocked(Client, out _));
        _time.SetUtcNow(Start + TimeSpan.FromMinutes(15));
        Assert.False(_blocks.IsBlocked(Client, out _));

        Assert.Equal(0, _blocks.Count);
        var unblocked = _changes[^1];
        Assert.Equal(BlockChangeKind.Unblocked, unblocked.Kind);
        Assert.Equal("expired", unblocked.By);
        Assert.Equal(Start + TimeSpan.FromMinutes(15), unblocked.At);
    }

    [Fact]
    public void Expired_entries_are_cleaned_up_by_the_timer()
    {
        _blocks.Block(Client, TimeSpan.FromSeconds(10), "operator", "");
        _blocks.Block(IPAddress.Parse("2001:db8::1"), TimeSpan.FromHours(1), "operator", "");

        _time.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal(1, _blocks.Count);
        Assert.Equal([IPAddress.Parse("2001:db8::1")], _blocks.List().Select(e => e.Address));
        Assert.Contains(_changes, c => c.Kind == BlockChangeKind.Unblocked && c.Entry.Address.Equals(Client) && c.By == "expired");
    }

    [Fact]
    public void Unblock_removes_and_names_who()
    {
        _blocks.Block(Client, TimeSpan.FromMinutes(15), "probe-path", "requested /.git/config");

        Assert.True(_blocks.Unblock(Client, "admin:alice"));
        Assert.False(_blocks.Unblock(Client, "admin:alice"));
        Assert.False(_blocks.IsBlocked(Client, out _));
        Assert.Equal([BlockChangeKind.Blocked, BlockChangeKind.Unblocked], _changes.Select(c => c.Kind));
        Assert.Equal("admin:alice", _changes[1].By);
    }

    [Fact]
    public void Blocking_again_extends_but_never_shortens()
    {
        var first = _blocks.Block(Client, TimeSpan.FromMinutes(15), "probe-path", "a");
        Assert.Same(first, _blocks.Block(Client, TimeSpan.FromMinutes(5), "denied-rate", "b"));
        Assert.Single(_changes);

        _time.Advance(TimeSpan.FromMinutes(10));
        var longer = _blocks.Block(Client, TimeSpan.FromMinutes(15), "denied-rate", "c");

        Assert.Equal(Start + TimeSpan.FromMinutes(25), longer.ExpiresAt);
        Assert.Equal(1, _blocks.Count);
        Assert.Equal(2, _changes.Count);
    }

    [Fact]
    public void List_is_soonest_expiry_first_without_expired_entries()
    {
        _blocks.Block(IPAddress.Parse("192.0.2.3"), TimeSpan.FromMinutes(3), "operator", "");
        _blocks.Block(IPAddress.Parse("192.0.2.1"), TimeSpan.FromMinutes(1), "operator", "");
        _blocks.Block(IPAddress.Parse("192.0.2.2"), TimeSpan.FromMinutes(2), "operator", "");

        _time.SetUtcNow(Start + TimeSpan.FromSeconds(90));

        Assert.Equal(["192.0.2.2", "192.0.2.3"], _blocks.List().Select(e => e.Address.ToString()));
    }

    [Fact]
    public void A_full_list_evicts_the_soonest_expiring()
    {
        using var blocks = new InMemoryBlockList(_time, NullLogger<InMemoryBlockList>.Instance, capacity: 2);
        var changes = new List<BlockChange>();
        blocks.Changed += (_, change) => changes.Add(change);
        blocks.Block(IPAddress.Parse("192.0.2.1"), TimeSpan.FromMinutes(5), "operator", "");
        blocks.Block(IPAddress.Parse("192.0.2.2"), TimeSpan.FromMinutes(1), "operator", "");

        blocks.Block(IPAddress.Parse("192.0.2.3"), TimeSpan.FromMinutes(3), "operator", "");

        Assert.Equal(["192.0.2.3", "192.0.2.1"], blocks.List().Select(e => e.Address.ToString()));
        Assert.Contains(changes, c => c.Kind == BlockChangeKind.Unblocked && c.By == "evicted" && c.Entry.Address.ToString() == "192.0.2.2");
    }
}
