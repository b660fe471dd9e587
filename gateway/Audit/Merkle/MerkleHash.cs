using System.Buffers;
using System.Security.Cryptography;

namespace AuditGateway.Audit.Merkle;

/// <summary>RFC 6962 §2.1 hashing with SHA-256.</summary>
internal static class MerkleHash
{
    public const int Size = 32;

    [ThreadStatic]
    private static IncrementalHash? t_sha256;

    /// <summary>
    /// SHA-256 of <paramref name="data"/>: OpenSSL's digest functions called directly where they are
    /// available (<see cref="OpenSslSha256"/>), else a per-thread reused hash context, which costs a
    /// quarter to a third less per call than <see cref="SHA256.HashData(ReadOnlySpan{byte}, Span{byte})"/>
    /// (see loadtest/bench HashBenchmarks).
    /// </summary>
    public static void Sha256(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (OpenSslSha256.IsAvailable)
        {
            OpenSslSha256.Hash(data, destination);
            return;
        }

        var hash = t_sha256 ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(data);
        hash.GetHashAndReset(destination);
    }

    /// <summary>The root of the empty tree: SHA-256 of nothing.</summary>
    public static byte[] EmptyRoot() => SHA256.HashData(ReadOnlySpan<byte>.Empty);

    /// <summary>SHA-256(0x00 || <paramref name="leaf"/>).</summary>
    public static void Leaf(ReadOnlySpan<byte> leaf, Span<byte> destination)
    {
        byte[]? rented = null;
        var input = leaf.Length < 2048 ? stackalloc byte[2048] : (rented = ArrayPool<byte>.Shared.Rent(leaf.Length + 1));
        input[0] = 0;
        leaf.CopyTo(input[1..]);
        Sha256(input[..(leaf.Length + 1)], destination);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public static byte[] Leaf(ReadOnlySpan<byte> leaf)
    {
        var result = new byte[Size];
        Leaf(leaf, result);
        return result;
    }

    /// <summary>SHA-256(0x01 || <paramref name="left"/> || <paramref name="right"/>); the destination may alias either input.</summary>
    public static void Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[1 + (2 * Size)];
        input[0] = 1;
        left.CopyTo(input[1..]);
        right.CopyTo(input[(1 + Size)..]);
        Sha256(input, destination);
    }

    /// <summary>The largest power of two strictly less than <paramref name="n"/> (n &gt; 1).</summary>
    public static long SplitPoint(long n) => 1L << (63 - (int)long.LeadingZeroCount(n - 1));
}
