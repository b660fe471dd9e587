using System.Net;
using AuditGateway.Policy;
using Microsoft.Extensions.Primitives;

namespace AuditGateway.Tests.Policy;

public sealed class ClientAddressResolverTests
{
    private static readonly ClientAddressResolver Resolver = new(IpRangeSet.Parse(["10.0.0.0/8", "2001:db8:ffff::/48"]));

    [Fact]
    public void Untrusted_peer_is_the_client_and_its_headers_are_ignored()
    {
        var result = Resolver.Resolve(IPAddress.Parse("198.51.100.1"), 5000, "for=192.0.2.1", "192.0.2.2");

        Assert.Equal(IPAddress.Parse("198.51.100.1"), result.Ip);
        Assert.Equal(5000, result.Port);
        Assert.Empty(result.Chain);
    }

    [Fact]
    public void Trusted_peer_without_headers_is_the_client()
    {
        var result = Resolver.Resolve(IPAddress.Parse("10.0.0.5"), 5000, StringValues.Empty, StringValues.Empty);

        Assert.Equal(IPAddress.Parse("10.0.0.5"), result.Ip);
        Assert.Empty(result.Chain);
    }

    [Fact]
    public void No_trusted_proxies_means_headers_are_never_believed()
    {
        var resolver = new ClientAddressResolver(IpRangeSet.Empty);

        var result = resolver.Resolve(IPAddress.Parse("10.0.0.5"), 5000, StringValues.Empty, "192.0.2.1");

        Assert.Equal(IPAddress.Parse("10.0.0.5"), result.Ip);
    }

    [Fact]
    public void Single_hop_X_Forwarded_For()
    {
        var result = Resolver.Resolve(IPAddress.Parse("10.0.0.5"), 5000, StringValues.Empty, "192.0.2.1");

        Assert.Equal(IPAddress.Parse("192.0.2.1"), result.Ip);
        Assert.Equal(0, result.Port);
        Assert.Equal(["192.0.2.1", "10.0.0.5"], result.Chain);
    }

    [Fact]
    public void Multi_hop_chain_skips_trusted_proxies_right_to_left()
    {
        var result = Resolver.Resolve(IPAddress.Parse("10.0.0.5"), 5000, StringValues.Empty, "192.0.2.1, 10.1.1.1,10.2.2.2");

        Assert.Equal(IPAddress.Parse("192.0.2.1"), result.Ip);
        Assert.Equal(["192.0.2.1", "10.1.1.1", "10.2.2.2", "10.0.0.5"], result.Chain);
    }

    [Fact]
    public void Spoofed_leftmost_entries_are_ignored()
    {
        // The client sent "X-Forwarded-For: 10.9.9.9, 1.2.3.4"; our proxy appended the real client.
        var result = Resolver.Resolve(IPAddress.Parse("10.0.0.5"), 5000, StringValues.Empty, "10.9.9.9, 1.2.3.4, 203.0.113.7");

        Assert.Equal(IPAddress.Parse("203.0.113.7"), result.Ip);
        Assert.Equal(["203.0.113.7", "10.0.0.5"], result.Chain);
    }

    [Fact]
    public void Several_header_lines_read_as_one_list()
    {
        var result = Resolver.Resolve(IPAddress.Parse("10.0.0.5"), 5000, StringValues.Empty, new StringValues(["192.0.2.1", "10.1.1.1"]));

        Assert.Equal(IPAddress.Parse("192.0.2.1"), result.Ip);
        Assert.Equal(["192.0.2.1", "10.1.1.1", "10.0.0.5"], result.Chain);
    }

    [Fact]
    public void All_trusted_chain_gives_the_leftmost_entry()
    {
        var result = Resolver.Resolve(IPAddress.Parse("10.0.0.5"), 5000, StringValues.Empty, "10.3.3.3, 10.1.1.1");

        Assert.Equal(IPAddress.Parse("10.3.3.3"), result.Ip);
    }

    [Theory]
    [InlineData("garbage", "10.0.0.5")]
    [InlineData("192.0.2.1, garbage", "10.0.0.5")]
    [InlineData("192.0.2.1, garbage, 10.1.1.1", "10.1.1.1")]
    [InlineData("192.0.2.1, , 10.1.1.1", "10.1.1.1")]
    [InlineData("192.0.2.1, unknown", "10.0.0.5")]
    [InlineData("192.0.2.1, 1", "10.0.0.5")]
    [InlineData("192.0.2.1, 0x7f.0.0.1", "10.0.0.5")]
    [InlineData("192.0.2.1, 300.1.1.1", "10.0.0.5")]
    [InlineData("192.0.2.1, 192.0.2.9:99999", "10.0.0.5")]
    [InlineData("192.0.2.1, fe80::1%eth0", "10.0.0.5")]
    [InlineData("10.9.9.9, garbage, 192.0.2.1", "192.0.2.1")]
    public void Malformed_entries_stop_the_walk_at_the_last_trusted_hop(string header, string client)
    {
        var result = Resolver.Resolve(IPAddress.Parse("10.0.0.5"), 5000, StringValues.Empty, header);

        Assert.Equal(IPAddress.Parse(client), result.Ip);
    }

    [Theory]
    [InlineData("2001:db8::1", "2001:db8::1", 0)]
    [InlineData("[2001:db8::1]:4711", "2001:db8::1", 4711)]
    [InlineData("192.0.2.1:8080", "192.0.2.1", 8080)]
    [InlineData("::ffff:192.0.2.1", "192.0.2.1", 0)]
    [InlineData("2001:db8::", "2001:db8::", 0)]
    public void X_Forwarded_For_node_forms(string header, string client, int port)
    {
        var result = Resolver.Resolve(IPAddress.Parse("10.0.0.5"), 5000, StringValues.Empty, header);

        Assert.Equal(IPAddress.Parse(client), result.Ip);
        Assert.Equal(port, result.Port);
    }

    [Theory]
    [InlineData("for=192.0.2.60;proto=http;by=203.0.113.43", "192.0.2.60", 0)]
    [InlineData("For=\"[2001:db8:cafe::17]:4711\"", "2001:db8:cafe::17", 4711)]
    [InlineData("for=\"[2001:db8:cafe::17]\"", "2001:db8:cafe::17", 0)]
    [InlineData("for=\"192.0.2.43:47011\"", "192.0.2.43", 47011)]
    [InlineData("for=\"192.0.2.43:_hidden\"", "192.0.2.43", 0)]
    [InlineData("for=192.0.2.43, for=198.51.100.17;by=\"[2001:db8:ffff::1]\";proto=https", "198.51.100.17", 0)]
    [InlineData("proto=https;host=\"a,b\";for=192.0.2.1", "192.0.2.1", 0)]
    public void Forwarded_elements(string header, string client, int port)
    {
        var result = Resolver.Resolve(IPAddress.Parse("10.0.0.5"), 5000, header, StringValues.Empty);

        Assert.Equal(IPAddress.Parse(client), result.Ip);
        Assert.Equal(port, result.Port);
    }

    [Fact]
    public void Forwarded_multi_hop_through_a_trusted_IPv6_proxy()
    {
        var result = Resolver.Resolve(
            IPAddress.Parse("::ffff:10.0.0.5"), 443, "for=\"[2001:db8::1]:4711\";proto=https, for=\"[2001:db8:ffff::9]\"", StringValues.Empty);

        Assert.Equal(IPAddress.Parse("2001:db8::1"), result.Ip);
        Assert.Equal(4711, result.Port);
        Assert.Equal(["2001:db8::1", "2001:db8:ffff::9", "10.0.0.5"], result.Chain);
    }

    [Theory]
    [InlineData("for=unknown")]
    [InlineData("for=_hidden")]
    [InlineData("proto=https")]
    [InlineData("for=192.0.2.1;for=192.0.2.2")]
    [InlineData("for=\"[2001:db8::1\"")]
    [InlineData("for=[192.0.2.1]")]
    [InlineData("nonsense")]
    public void Malformed_Forwarded_elements_stop_the_walk(string header)
    {
        var result = Resolver.Resolve(IPAddress.Parse("10.0.0.5"), 5000, header, StringValues.Empty);

        Assert.Equal(IPAddress.Parse("10.0.0.5"), result.Ip);
        Assert.Empty(result.Chain);
    }

    [Fact]
    public void Forwarded_is_preferred_over_X_Forwarded_For()
    {
        var result = Resolver.Resolve(IPAddress.Parse("10.0.0.5"), 5000, "for=192.0.2.1", "198.51.100.1");

        Assert.Equal(IPAddress.Parse("192.0.2.1"), result.Ip);
    }

    [Fact]
    public void Reads_the_request_headers()
    {
        var headers = new HeaderDictionary { ["X-Forwarded-For"] = "192.0.2.1", ["forwarded"] = "for=192.0.2.2" };

        var result = Resolver.Resolve(IPAddress.Parse("10.0.0.5"), 5000, headers);

        Assert.Equal(IPAddress.Parse("192.0.2.2"), result.Ip);
    }

    [Fact]
    public void The_walk_is_bounded()
    {
        var header = "192.0.2.1, " + string.Join(", ", Enumerable.Range(0, 100).Select(i => $"10.0.0.{i}"));

        var result = Resolver.Resolve(IPAddress.Parse("10.0.0.5"), 5000, StringValues.Empty, header);

        Assert.Equal(ClientAddressResolver.MaxHops + 1, result.Chain.Count);
        Assert.True(Resolver.TrustedProxies.Contains(result.Ip));
    }
}
