namespace AuditGateway.Audit.Hashing;

/// <summary>
/// Groups of messages (a batch's leaves, a verified block's lines and leaves) hashed up to 16 at a time in the lanes of AVX-512
/// (<see cref="Sha256x16"/>); everything else (the chain, tree nodes, groups too small for a pass
/// over all lanes to pay) by a single-stream implementation.
/// </summary>
internal sealed class LaneSha256(ISha256 single) : ISha256
{
    /// <summary>Fewer messages than this are hashed one by one.</summary>
    private const int FewestForLanes = 8;

    public string Name { get; } = "avx512x16+" + single.Name;

    public int Lanes => Sha256x16.Lanes;

    public void Hash(ReadOnlySpan<byte> data, Span<byte> destination) => single.Hash(data, destination);

    public void HashPrefixed(byte prefix, ReadOnlySpan<byte> data, ReadOnlySpan<(int Start, int Length)> messages, Span<byte> destination)
    {
        while (messages.Length >= FewestForLanes)
        {
            var group = messages[..Math.Min(Sha256x16.Lanes, messages.Length)];
            Sha256x16.HashPrefixed(prefix, data, group, destination);
            messages = messages[group.Length..];
            destination = destination[(group.Length * ISha256.Size)..];
        }

        single.HashPrefixed(prefix, data, messages, destination);
    }

    public void HashEach(ReadOnlySpan<byte> data, ReadOnlySpan<(int Start, int Length)> messages, Span<byte> destination)
    {
        while (messages.Length >= FewestForLanes)
        {
            var group = messages[..Math.Min(Sha256x16.Lanes, messages.Length)];
            Sha256x16.Hash(data, group, destination);
            messages = messages[group.Length..];
            destination = destination[(group.Length * ISha256.Size)..];
        }

        ((ISha256)single).HashEach(data, messages, destination);
    }
}
