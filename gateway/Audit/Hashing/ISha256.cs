namespace AuditGateway.Audit.Hashing;

/// <summary>
/// SHA-256 as the log uses it: the chain (each entry's <c>prev</c> is SHA-256 of the line before)
/// and the Merkle tree's leaves and nodes. Which implementation is chosen once, at start-up, by
/// <see cref="Sha256Selection"/>; every one of them is checked against .NET's first.
/// </summary>
internal interface ISha256
{
    /// <summary>Bytes in a SHA-256 hash.</summary>
    const int Size = 32;

    /// <summary>What log lines call it: <c>dotnet</c>, <c>openssl</c>, <c>avx512x16+openssl</c>.</summary>
    string Name { get; }

    /// <summary>How many messages <see cref="HashPrefixed"/> hashes in one pass: 1 for a single-stream implementation.</summary>
    int Lanes { get; }

    /// <summary>SHA-256 of <paramref name="data"/> into the first 32 bytes of <paramref name="destination"/>.</summary>
    void Hash(ReadOnlySpan<byte> data, Span<byte> destination);

    /// <summary>
    /// SHA-256(<paramref name="prefix"/> || <paramref name="data"/>[start, start + length)) of each
    /// message, 32 bytes each and in order, into <paramref name="destination"/>: a batch's leaves (prefix 0x00).
    /// </summary>
    void HashPrefixed(byte prefix, ReadOnlySpan<byte> data, ReadOnlySpan<(int Start, int Length)> messages, Span<byte> destination);

    /// <summary>
    /// SHA-256(<paramref name="data"/>[start, start + length)) of each message, 32 bytes each and in
    /// order, into <paramref name="destination"/>: a block's chain hashes. One by one unless an implementation has lanes.
    /// </summary>
    void HashEach(ReadOnlySpan<byte> data, ReadOnlySpan<(int Start, int Length)> messages, Span<byte> destination)
    {
        for (var i = 0; i < messages.Length; i++)
        {
            var (start, length) = messages[i];
            Hash(data.Slice(start, length), destination.Slice(i * Size, Size));
        }
    }
}
