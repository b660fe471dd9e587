using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Numerics;

namespace AuditGateway.Policy;

/// <summary>
/// An immutable set of IPv4 and IPv6 CIDR ranges, built once and matched many times without
/// allocating. IPv4-mapped IPv6 addresses (<c>::ffff:a.b.c.d</c>) and ranges inside
/// <c>::ffff:0:0/96</c> are treated as IPv4.
/// </summary>
/// <remarks>
/// CIDR blocks are either disjoint or nested, so the set keeps only the outermost blocks as sorted
/// disjoint intervals (<see cref="uint"/> for IPv4, <see cref="UInt128"/> for IPv6) and a lookup is
/// one binary search. The range reported by <see cref="TryMatch"/> is therefore the outermost
/// configured range that contains the address. An IPv6 range wider than /96 that covers the mapped
/// block (e.g. <c>::/0</c>) also matches IPv4 addresses, as the OS would when it maps them.
/// </remarks>
internal sealed class IpRangeSet : IEquatable<IpRangeSet>
{
    private static readonly UInt128 MappedStart = new(0, 0xFFFF_0000_0000UL);
    private static readonly UInt128 MappedEnd = new(0, 0xFFFF_FFFF_FFFFUL);

    private readonly Intervals<uint> _v4;
    private readonly Intervals<UInt128> _v6;

    public IpRangeSet(IEnumerable<IPNetwork> networks)
    {
        ArgumentNullException.ThrowIfNull(networks);
        var canonical = new SortedSet<string>(StringComparer.Ordinal);
        var v4 = new List<(uint Start, uint End, string Range)>();
        var v6 = new List<(UInt128 Start, UInt128 End, string Range)>();
        Span<byte> bytes = stackalloc byte[16];
        foreach (var input in networks)
        {
            var network = Canonical(input);
            var text = network.ToString();
            if (!canonical.Add(text))
            {
                continue;
            }

            network.BaseAddress.TryWriteBytes(bytes, out var written);
            if (written == 4)
            {
                var start = BinaryPrimitives.ReadUInt32BigEndian(bytes);
                v4.Add((start, start | HostMask<uint>(32 - network.PrefixLength), text));
            }
            else
            {
                var start = BinaryPrimitives.ReadUInt128BigEndian(bytes);
                var end = start | HostMask<UInt128>(128 - network.PrefixLength);
                v6.Add((start, end, text));
                if (start <= MappedEnd && end >= MappedStart)
                {
                    // Only a range wider than the mapped /96 gets here (narrower ones became IPv4).
                    v4.Add(((uint)(UInt128.Max(start, MappedStart) - MappedStart), (uint)(UInt128.Min(end, MappedEnd) - MappedStart), text));
                }
            }
        }

        Ranges = [.. canonical];
        _v4 = new Intervals<uint>(v4);
        _v6 = new Intervals<UInt128>(v6);
    }

    public static IpRangeSet Empty { get; } = new([]);

    /// <summary>The configured ranges in canonical form (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>), sorted, without duplicates.</summary>
    public IReadOnlyList<string> Ranges { get; }

    public bool IsEmpty => Ranges.Count == 0;

    /// <summary>The number of disjoint intervals a lookup searches (for tests and diagnostics).</summary>
    internal int IntervalCount => _v4.Count + _v6.Count;

    /// <summary>Parses CIDRs or single addresses; throws <see cref="FormatException"/> naming the first bad one.</summary>
    public static IpRangeSet Parse(IEnumerable<string> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        var networks = new List<IPNetwork>();
        foreach (var text in ranges)
        {
            networks.Add(TryParseRange(text, out var network, out var error) ? network : throw new FormatException(error));
        }

        return new IpRangeSet(networks);
    }

    /// <summary>
    /// A CIDR (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>) or a single address. Unlike
    /// a plain network parse this refuses host bits after the prefix
    /// (<c>10.0.0.1/8</c>): in a trust or allow list that is more likely a typo than a wish for the whole /8.
    /// </summary>
    public static bool TryParseRange(string text, out IPNetwork network, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (!IpAddresses.TryParseAddressOrNetwork(trimmed, out network))
        {
            error = $"'{text}' is not a CIDR (IPv4 or IPv6 address or range, e.g. 10.0.0.0/8)";
            return false;
        }

        var slash = trimmed.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0 && IPAddress.TryParse(trimmed.AsSpan(0, slash), out var given) && !given.Equals(network.BaseAddress))
        {
            error = $"'{text}' is not a CIDR: bits are set after the /{network.PrefixLength} prefix (the range starts at {network.BaseAddress})";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>The canonical text of a range: IPv4-mapped IPv6 ranges of /96 or narrower become IPv4.</summary>
    public static IPNetwork Canonical(IPNetwork network) =>
        network.BaseAddress.IsIPv4MappedToIPv6 && network.PrefixLength >= 96
            ? new IPNetwork(network.BaseAddress.MapToIPv4(), network.PrefixLength - 96)
            : network;

    public bool Contains(IPAddress address) => TryMatch(address, out _);

    /// <summary>Whether <paramref name="address"/> is in the set, and if so the outermost configured range containing it.</summary>
    public bool TryMatch(IPAddress address, [NotNullWhen(true)] out string? range)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out var written))
        {
            range = null;
            return false;
        }

        if (written == 4)
        {
            return _v4.TryFind(BinaryPrimitives.ReadUInt32BigEndian(bytes), out range);
        }

        var value = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        return value >= MappedStart && value <= MappedEnd
            ? _v4.TryFind((uint)(value - MappedStart), out range)
            : _v6.TryFind(value, out range);
    }

    public bool Equals(IpRangeSet? other) =>
        other is not null && (ReferenceEquals(this, other) || Ranges.SequenceEqual(other.Ranges, StringComparer.Ordinal));

    public override bool Equals(object? obj) => Equals(obj as IpRangeSet);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var range in Ranges)
        {
            hash.Add(range, StringComparer.Ordinal);
        }

        return hash.ToHashCode();
    }

    public override string ToString() => string.Join(",", Ranges);

    private static T HostMask<T>(int hostBits)
        where T : IBinaryInteger<T>, IMinMaxValue<T> =>
        hostBits == 0 ? T.Zero : T.MaxValue >>> (T.AllBitsSet.GetByteCount() * 8 - hostBits);

    /// <summary>Sorted disjoint closed intervals, each remembering the configured range it came from.</summary>
    private sealed class Intervals<T>
        where T : IBinaryInteger<T>, IMinMaxValue<T>
    {
        private readonly T[] _starts;
        private readonly T[] _ends;
        private readonly string[] _ranges;

        public Intervals(List<(T Start, T End, string Range)> items)
        {
            // Widest first among equal starts, so a nested range never displaces its container.
            items.Sort(static (a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : b.End.CompareTo(a.End));
            var starts = new List<T>(items.Count);
            var ends = new List<T>(items.Count);
            var ranges = new List<string>(items.Count);
            foreach (var (start, end, range) in items)
            {
                if (ends.Count == 0 || start > ends[^1])
                {
                    starts.Add(start);
                    ends.Add(end);
                    ranges.Add(range);
                }
                else if (end > ends[^1])
                {
                    // Partial overlap cannot happen between CIDR blocks; keep the uncovered tail to stay correct anyway.
                    starts.Add(ends[^1] + T.One);
                    ends.Add(end);
                    ranges.Add(range);
                }
            }

            _starts = [.. starts];
            _ends = [.. ends];
            _ranges = [.. ranges];
        }

        public int Count => _starts.Length;

        public bool TryFind(T value, [NotNullWhen(true)] out string? range)
        {
            var index = Array.BinarySearch(_starts, value);
            if (index < 0)
            {
                index = ~index - 1;
            }

            if (index >= 0 && value <= _ends[index])
            {
                range = _ranges[index];
                return true;
            }

            range = null;
            return false;
        }
    }
}

/// <summary>Address helpers shared by the policy features.</summary>
internal static class IpAddresses
{
    /// <summary>IPv4-mapped IPv6 addresses become IPv4, so one client has one key and one spelling.</summary>
    public static IPAddress Normalize(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    /// <summary>A CIDR range, or a single address as a /32 or /128.</summary>
    public static bool TryParseAddressOrNetwork(string text, out IPNetwork network)
    {
        if (IPNetwork.TryParse(text, out network))
        {
            return true;
        }

        if (!text.Contains('/', StringComparison.Ordinal) && IPAddress.TryParse(text, out var address))
        {
            network = new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return false;
    }
}
