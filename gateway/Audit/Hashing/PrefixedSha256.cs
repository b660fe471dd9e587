using System.Buffers;

namespace AuditGateway.Audit.Hashing;

/// <summary>SHA-256 of a one-byte prefix and a message through a single-stream implementation: the message copied after the prefix.</summary>
internal static class PrefixedSha256
{
    /// <summary>Up to this many bytes the copy is on the stack.</summary>
    private const int StackLimit = 2048;

    /// <summary>SHA-256(<paramref name="prefix"/> || <paramref name="message"/>).</summary>
    public static void Hash(ISha256 sha, byte prefix, ReadOnlySpan<byte> message, Span<byte> destination)
    {
        byte[]? rented = null;
        var input = message.Length < StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(message.Length + 1));
        input[0] = prefix;
        message.CopyTo(input[1..]);
        sha.Hash(input[..(message.Length + 1)], destination);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary><see cref="ISha256.HashPrefixed"/> one message after the other.</summary>
    public static void HashEach(ISha256 sha, byte prefix, ReadOnlySpan<byte> data, ReadOnlySpan<(int Start, int Length)> messages, Span<byte> destination)
    {
        for (var i = 0; i < messages.Length; i++)
        {
            var (start, length) = messages[i];
            Hash(sha, prefix, data.Slice(start, length), destination.Slice(i * ISha256.Size, ISha256.Size));
        }
    }
}
