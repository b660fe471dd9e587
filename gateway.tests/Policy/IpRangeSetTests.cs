using System.Net;
using AuditGateway.Policy;

namespace AuditGateway.Tests.Policy;

public sealed class IpRangeSetTests
{
    [Theory]
    [InlineData("203.0.113.0/24", "203.0.113.0", true)]
    [InlineData("203.0.113.0/24", "203.0.113.255", true)]
    [InlineData("203.0.113.0/24", "203.0.112.255", false)]
    [InlineData("203.0.113.0/24", "203.0.114.0", false)]
    [InlineData("0.0.0.0/0", "255.255.255.255", true)]
    [InlineData("0.0.0.0/0", "0.0.0.0", true)]
    [InlineData("0.0.0.0/0", "::1", false)]
    [InlineData("192.0.2.7", "192.0.2.7", true)]
    [InlineData("192.0.2.7", "192.0.2.8", false)]
    [InlineData("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true)]
    [InlineData("2001:db8::/32", "2001:db9::", false)]
    [InlineData("2001:db8::/32", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false)]
    [InlineData("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true)]
    [InlineData("2001:db8::1", "2001:db8::1", true)]
    [InlineData("10.0.0.0/8", "::ffff:10.1.2.3", true)]
    [InlineData("::ffff:10.0.0.0/104", "10.1.2.3", true)]
    [InlineData("::ffff:10.0.0.0/104", "::ffff:10.1.2.3", true)]
    [InlineData("::ffff:10.0.0.0/104", "11.0.0.0", false)]
    [InlineData("::/0", "10.1.2.3", true)]
    [InlineData("::/64", "10.1.2.3", true)]
    [InlineData("::/96", "10.1.2.3", false)]
    [InlineData("::/96", "::10.1.2.3", true)]
    [InlineData("10.0.0.0/8", "::a01:203", false)]
    public void Matches_edges_of_ranges(string range, string address, bool expected)
    {
        var set = IpRangeSet.Parse([range]);

        Assert.Equal(expected, set.TryMatch(IPAddress.Parse(address), out var matched));
        if (expected)
        {
            Assert.Contains(matched, set.Ranges);
        }
    }

    [Fact]
    public void Reports_canonical_ranges_and_mapped_ranges_as_IPv4()
    {
        var set = IpRangeSet.Parse(["2001:DB8:0::/32", "::ffff:192.0.2.0/120", " 198.51.100.7 "]);

        Assert.Equal(["192.0.2.0/24", "198.51.100.7/32", "2001:db8::/32"], set.Ranges);
        Assert.True(set.TryMatch(IPAddress.Parse("192.0.2.9"), out var range));
        Assert.Equal("192.0.2.0/24", range);
    }

    [Fact]
    public void Overlapping_ranges_report_the_outermost_that_contains_the_address()
    {
        var set = IpRangeSet.Parse(["10.1.0.0/16", "10.0.0.0/8", "10.1.2.0/24", "11.0.0.0/24", "11.0.1.0/24"]);

        Assert.True(set.TryMatch(IPAddress.Parse("10.1.2.3"), out var range));
        Assert.Equal("10.0.0.0/8", range);
        Assert.True(set.TryMatch(IPAddress.Parse("11.0.1.0"), out range));
        Assert.Equal("11.0.1.0/24", range);
        Assert.True(set.TryMatch(IPAddress.Parse("11.0.0.255"), out range));
        Assert.Equal("11.0.0.0/24", range);
        Assert.False(set.Contains(IPAddress.Parse("11.0.2.0")));
        Assert.Equal(3, set.IntervalCount);
    }

    [Fact]
    public void Empty_set_matches_nothing()
    {
        Assert.True(IpRangeSet.Empty.IsEmpty);
        Assert.False(IpRangeSet.Empty.Contains(IPAddress.Loopback));
        Assert.False(IpRangeSet.Empty.Contains(IPAddress.IPv6Loopback));
    }

    [Theory]
    [InlineData("300.1.1.1")]
    [InlineData("10.0.0.1/8")]
    [InlineData("10.0.0.0/33")]
    [InlineData("example.com")]
    public void Parse_rejects_what_is_not_a_CIDR(string text)
    {
        var error = Assert.Throws<FormatException>(() => IpRangeSet.Parse(["10.0.0.0/8", text]));
        Assert.Contains($"'{text}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Equality_is_by_canonical_ranges()
    {
        Assert.Equal(IpRangeSet.Parse(["10.0.0.0/8", "2001:db8::/32"]), IpRangeSet.Parse(["2001:DB8::/32", "10.0.0.0/8", "10.0.0.0/8"]));
        Assert.NotEqual(IpRangeSet.Parse(["10.0.0.0/8"]), IpRangeSet.Parse(["10.0.0.0/9"]));
    }

    [Fact]
    public void Ten_thousand_ranges_agree_with_a_naive_scan()
    {
        var random = new Random(20240601);
        var networks = new List<IPNetwork>();
        for (var i = 0; i < 10_000; i++)
        {
            networks.Add((i % 10) switch
            {
                < 6 => Network(RandomBytes(random, 4), random.Next(12, 33)),
                < 9 => Network(RandomBytes(random, 16, 0x20, 0x01), random.Next(32, 129)),
                _ => Network(MappedBytes(random), random.Next(96, 129)),
            });
        }

        var set = new IpRangeSet(networks);
        var canonical = networks.Select(IpRangeSet.Canonical).ToList();

        var checkedMatches = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var address = (i % 4) switch
            {
                0 => new IPAddress(RandomBytes(random, 4)),
                1 => new IPAddress(RandomBytes(random, 16, 0x20, 0x01)),
                2 => Edge(random, canonical[random.Next(canonical.Count)]),
                _ => new IPAddress(MappedBytes(random)),
            };

            var normalized = IpAddresses.Normalize(address);
            var expected = canonical.Any(n => n.Contains(normalized));
            Assert.Equal(expected, set.TryMatch(address, out var range));
            if (expected)
            {
                var matched = IPNetwork.Parse(range!);
                Assert.True(matched.Contains(normalized), $"{address} reported in {range}");
                Assert.Contains(range, set.Ranges);
                checkedMatches++;
            }
        }

        Assert.InRange(checkedMatches, 2_000, 19_000);
    }

    [Fact]
    public void Lookups_do_not_allocate()
    {
        var set = IpRangeSet.Parse(["10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"]);
        IPAddress[] addresses = [IPAddress.Parse("10.1.2.3"), IPAddress.Parse("::ffff:192.0.2.1"), IPAddress.Parse("2001:db8::1"), IPAddress.Parse("198.51.100.1")];
        set.Contains(addresses[0]);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var hits = 0;
        for (var i = 0; i < 10_000; i++)
        {
            hits += set.TryMatch(addresses[i % addresses.Length], out _) ? 1 : 0;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(7_500, hits);
    }

    private static IPNetwork Network(byte[] bytes, int prefix)
    {
        for (var bit = prefix; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IPNetwork(new IPAddress(bytes), prefix);
    }

    private static IPAddress Edge(Random random, IPNetwork network)
    {
        var bytes = network.BaseAddress.GetAddressBytes();
        var last = random.Next(2) == 0;
        for (var bit = network.PrefixLength; last && bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] |= (byte)(0x80 >> (bit % 8));
        }

        // Step one address outside half of the time.
        if (random.Next(2) == 0)
        {
            for (var i = bytes.Length - 1; i >= 0; i--)
            {
                var carry = last ? bytes[i]++ == 0xFF : bytes[i]-- == 0;
                if (!carry)
                {
                    break;
                }
            }
        }

        return new IPAddress(bytes);
    }

    private static byte[] RandomBytes(Random random, int length, params byte[] prefix)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        prefix.CopyTo(bytes, 0);
        return bytes;
    }

    private static byte[] MappedBytes(Random random)
    {
        var bytes = new byte[16];
        bytes[10] = 0xFF;
        bytes[11] = 0xFF;
        random.NextBytes(bytes.AsSpan(12));
        return bytes;
    }
}
