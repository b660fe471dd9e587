namespace AuditGateway.Audit.Entries;

/// <summary>Lower-case hex on spans, without allocating.</summary>
internal static class HexEncoding
{
    private static ReadOnlySpan<byte> Digits => "0123456789abcdef"u8;

    /// <summary>Writes <c>2 * bytes.Length</c> ASCII hex digits to <paramref name="destination"/>.</summary>
    public static void Encode(ReadOnlySpan<byte> bytes, Span<byte> destination)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            destination[2 * i] = Digits[bytes[i] >> 4];
            destination[(2 * i) + 1] = Digits[bytes[i] & 0xF];
        }
    }

    /// <summary>Decodes lower-case hex; false on any other character or an odd length.</summary>
    public static bool TryDecode(ReadOnlySpan<char> hex, Span<byte> destination) =>
        hex.Length == destination.Length * 2
        && !hex.ContainsAnyInRange('A', 'F')
        && Convert.FromHexString(hex, destination, out _, out var written) == System.Buffers.OperationStatus.Done
        && written == destination.Length;

    /// <summary>Decodes lower-case hex given as ASCII bytes; false on any other byte or a length that does not fit.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> hex, Span<byte> destination) =>
        hex.Length == destination.Length * 2
        && !hex.ContainsAnyInRange((byte)'A', (byte)'F')
        && Convert.FromHexString(hex, destination, out _, out var written) == System.Buffers.OperationStatus.Done
        && written == destination.Length;
}
