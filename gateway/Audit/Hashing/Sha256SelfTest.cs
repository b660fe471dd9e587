using System.Security.Cryptography;

namespace AuditGateway.Audit.Hashing;

/// <summary>
/// Checks an implementation against <see cref="SHA256"/> before the log trusts it: random messages
/// of every length around the block and padding boundaries (a block is 64 bytes and its padding
/// needs 9 of them), one and two blocks and more, and longer than 2 KB (where OpenSSL's Update takes
/// its other path); each hashed alone and, with the prefixes of leaves and nodes and without a prefix
/// (a verified block's chain hashes), in batches of every size up to 16 (the lanes' path).
/// </summary>
internal static class Sha256SelfTest
{
    /// <summary>The message lengths checked.</summary>
    public static IReadOnlyList<int> Lengths { get; } =
    [
        0, 1, 2, 31, 32, 33, 54, 55, 56, 57, 62, 63, 64, 65, 118, 119, 120, 121, 126, 127, 128, 129,
        182, 183, 184, 191, 192, 193, 255, 256, 257, 1000, 1100, 2046, 2047, 2048, 2049, 4095, 4096, 4097, 10_000,
    ];

    /// <summary>Null when <paramref name="sha"/> agrees with .NET's SHA-256 everywhere; otherwise the first thing it got wrong, or what it threw.</summary>
    public static string? Problem(ISha256 sha)
    {
        try
        {
            return Check(sha);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException
            or CryptographicException or PlatformNotSupportedException or ArgumentException or InvalidOperationException or IndexOutOfRangeException)
        {
            return $"threw {e.GetType().Name}: {e.Message}";
        }
    }

    private static string? Check(ISha256 sha)
    {
        // The messages one after another, each after a separator byte, as lines lie in the writer's batch.
        var messages = new (int Start, int Length)[Lengths.Count];
        var data = new byte[Lengths.Sum(n => n + 1)];
        RandomNumberGenerator.Fill(data);
        var at = 0;
        for (var i = 0; i < Lengths.Count; i++)
        {
            messages[i] = (at + 1, Lengths[i]);
            at += Lengths[i] + 1;
        }

        var actual = new byte[Sha256x16.Lanes * ISha256.Size];
        foreach (var (start, length) in messages)
        {
            var message = data.AsSpan(start, length);
            sha.Hash(message, actual);
            if (!actual.AsSpan(0, ISha256.Size).SequenceEqual(SHA256.HashData(message)))
            {
                return $"wrong hash of a {length}-byte message";
            }
        }

        // Batches of every size up to 16, each of messages of mixed lengths.
        foreach (var prefix in new byte[] { 0x00, 0x01 })
        {
            for (var count = 1; count <= Sha256x16.Lanes; count++)
            {
                var group = Enumerable.Range(0, count).Select(j => messages[((count * 7) + j) % messages.Length]).ToArray();
                sha.HashPrefixed(prefix, data, group, actual);
                for (var i = 0; i < count; i++)
                {
                    var (start, length) = group[i];
                    if (!actual.AsSpan(i * ISha256.Size, ISha256.Size).SequenceEqual(SHA256.HashData([prefix, .. data.AsSpan(start, length)])))
                    {
                        return $"wrong hash of prefix 0x{prefix:x2} and a {length}-byte message, message {i + 1} of a batch of {count}";
                    }
                }
            }
        }

        // The same batches without a prefix (a block's chain hashes).
        for (var count = 1; count <= Sha256x16.Lanes; count++)
        {
            var group = Enumerable.Range(0, count).Select(j => messages[((count * 5) + j) % messages.Length]).ToArray();
            sha.HashEach(data, group, actual);
            for (var i = 0; i < count; i++)
            {
                var (start, length) = group[i];
                if (!actual.AsSpan(i * ISha256.Size, ISha256.Size).SequenceEqual(SHA256.HashData(data.AsSpan(start, length))))
                {
                    return $"wrong hash of a {length}-byte message, message {i + 1} of a batch of {count}";
                }
            }
        }

        return null;
    }
}
