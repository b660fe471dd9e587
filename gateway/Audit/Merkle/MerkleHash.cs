using AuditGateway.Audit.Hashing;

namespace AuditGateway.Audit.Merkle;

/// <summary>RFC 6962 §2.1 hashing with SHA-256.</summary>
internal static class MerkleHash
{
    public const int Size = ISha256.Size;

    /// <summary>The root of the empty tree: SHA-256 of nothing.</summary>
    public static byte[] EmptyRoot(ISha256 sha)
    {
        var root = new byte[Size];
        sha.Hash([], root);
        return root;
    }

    /// <summary>SHA-256(0x00 || <paramref name="leaf"/>).</summary>
    public static void Leaf(ISha256 sha, ReadOnlySpan<byte> leaf, Span<byte> destination) => PrefixedSha256.Hash(sha, 0x00, leaf, destination);

    public static byte[] Leaf(ISha256 sha, ReadOnlySpan<byte> leaf)
    {
        var result = new byte[Size];
        Leaf(sha, leaf, result);
        return result;
    }

    /// <summary>SHA-256(0x01 || <paramref name="left"/> || <paramref name="right"/>); the destination may alias either input.</summary>
    public static void Node(ISha256 sha, ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[1 + (2 * Size)];
        input[0] = 1;
        left.CopyTo(input[1..]);
        right.CopyTo(input[(1 + Size)..]);
        sha.Hash(input, destination);
    }

    /// <summary>The largest power of two strictly less than <paramref name="n"/> (n &gt; 1).</summary>
    public static long SplitPoint(long n) => 1L << (63 - (int)long.LeadingZeroCount(n - 1));
}
