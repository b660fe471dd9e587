using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AuditGateway.Audit.Hashing;

/// <summary>
/// SHA-256 (FIPS 180-4) of up to 16 independent messages at once, one message per 32-bit lane of
/// AVX-512 vectors. The log's leaf hashes do not depend on one another, so the writer hashes them in
/// groups: on this project's machine that is about twice the throughput of OpenSSL's single-stream
/// SHA-NI code (see loadtest/bench HashBenchmarks). The chain hash (<c>prev</c>) stays single-stream:
/// each line holds the hash of the one before it.
/// </summary>
/// <remarks>
/// Each message is <c>prefix || data[start, start + length)</c>, the form of an RFC 6962 leaf
/// (prefix 0x00). A message's blocks are read in place, except its first block (which holds the
/// prefix) and its last one or two (which hold the padding); those are assembled on the stack.
/// Lanes whose message has fewer blocks than the longest keep their state through the extra rounds.
/// </remarks>
internal static class Sha256x16
{
    public const int Lanes = 16;

    private const int BlockSize = 64;

    // vpternlogd truth tables: a ^ b ^ c, a ? b : c (SHA's Ch), the majority of a, b, c (Maj).
    private const byte Xor3 = 0x96;
    private const byte Choose = 0xCA;
    private const byte Majority = 0xE8;

    /// <summary>Where 512-bit vectors are hardware-accelerated (the JIT's own test, which some CPUs with AVX-512 fail because wide vectors slow them down) and have the instructions used.</summary>
    public static bool IsSupported => Vector512.IsHardwareAccelerated && Avx512F.IsSupported && Avx512BW.IsSupported;

    private static ReadOnlySpan<uint> RoundConstants =>
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    /// <summary>Reverses the bytes of each 32-bit word: the message words are big-endian.</summary>
    private static ReadOnlySpan<byte> ByteSwap =>
    [
        3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
        3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
    ];

    /// <summary>
    /// Writes SHA-256(<paramref name="prefix"/> || <paramref name="data"/>[start, start + length)) of each
    /// message, 32 bytes each and in order, to <paramref name="destination"/>.
    /// </summary>
    public static void HashPrefixed(byte prefix, ReadOnlySpan<byte> data, ReadOnlySpan<(int Start, int Length)> messages, Span<byte> destination) =>
        Hash([prefix], data, messages, destination);

    /// <summary>
    /// Writes SHA-256(<paramref name="data"/>[start, start + length)) of each message, 32 bytes each
    /// and in order, to <paramref name="destination"/>: the chain hashes of lines.
    /// </summary>
    public static void Hash(ReadOnlySpan<byte> data, ReadOnlySpan<(int Start, int Length)> messages, Span<byte> destination) =>
        Hash([], data, messages, destination);

    /// <summary>Each message after <paramref name="prefix"/> (none, or one byte).</summary>
    private static void Hash(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> data, ReadOnlySpan<(int Start, int Length)> messages, Span<byte> destination)
    {
        if (!IsSupported)
        {
            throw new PlatformNotSupportedException("Sha256x16 needs AVX-512 (F and BW)");
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan(messages.Length, Lanes, nameof(messages));
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, messages.Length * ISha256.Size, nameof(destination));

        // Per lane: its assembled blocks in a scratch area of three (the first block if the message
        // has a whole one, then the one or two of the tail), and where the blocks between them start
        // and how many there are.
        Span<int> heads = stackalloc int[Lanes];
        Span<int> inPlaceFrom = stackalloc int[Lanes];
        Span<int> inPlaceBlocks = stackalloc int[Lanes];
        Span<int> blocks = stackalloc int[Lanes];
        Span<byte> scratch = stackalloc byte[Lanes * 3 * BlockSize];
        scratch.Clear();
        var longest = 0;
        for (var lane = 0; lane < messages.Length; lane++)
        {
            var (start, length) = messages[lane];
            ArgumentOutOfRangeException.ThrowIfNegative(start, nameof(messages));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(length, data.Length - start, nameof(messages));
            var total = (long)length + prefix.Length;
            blocks[lane] = (int)((total + 8) / BlockSize) + 1;
            longest = Math.Max(longest, blocks[lane]);
            Assemble(prefix, data.Slice(start, length), total, scratch.Slice(lane * 3 * BlockSize, 3 * BlockSize), out var head);
            heads[lane] = head;
            inPlaceBlocks[lane] = (int)(total / BlockSize) - head;
            inPlaceFrom[lane] = start - prefix.Length + (head * BlockSize);
        }

        Compress(data, messages.Length, longest, new Layout(heads, inPlaceFrom, inPlaceBlocks, blocks), scratch, destination);
    }

    /// <summary>
    /// Fills a lane's scratch: its first block (prefix and the first 63 bytes) when there is a prefix
    /// and the message has a whole block, then the tail (the bytes after the last whole block, 0x80,
    /// zeros, the bit length). Without a prefix the whole blocks are all read in place.
    /// </summary>
    private static void Assemble(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> message, long total, Span<byte> scratch, out int headBlocks)
    {
        var wholeBlocks = (int)(total / BlockSize);
        headBlocks = wholeBlocks > 0 && !prefix.IsEmpty ? 1 : 0;
        var tail = scratch;
        var tailFrom = wholeBlocks * (long)BlockSize;
        if (headBlocks == 1)
        {
            prefix.CopyTo(scratch);
            message[..(BlockSize - prefix.Length)].CopyTo(scratch[prefix.Length..]);
            tail = scratch[BlockSize..];
        }

        if (tailFrom == 0)
        {
            prefix.CopyTo(tail);
            message.CopyTo(tail[prefix.Length..]);
        }
        else
        {
            message[(int)(tailFrom - prefix.Length)..].CopyTo(tail);
        }

        var tailLength = (int)(total - tailFrom);
        tail[tailLength] = 0x80;
        var tailBlocks = tailLength + 9 > BlockSize ? 2 : 1;
        BinaryPrimitives.WriteUInt64BigEndian(tail.Slice((tailBlocks * BlockSize) - 8, 8), (ulong)total * 8);
    }

    /// <summary>Where each lane's blocks are: see <see cref="HashPrefixed"/>.</summary>
    private readonly ref struct Layout(ReadOnlySpan<int> heads, ReadOnlySpan<int> inPlaceFrom, ReadOnlySpan<int> inPlaceBlocks, ReadOnlySpan<int> blocks)
    {
        public readonly ReadOnlySpan<int> Heads = heads;
        public readonly ReadOnlySpan<int> InPlaceFrom = inPlaceFrom;
        public readonly ReadOnlySpan<int> InPlaceBlocks = inPlaceBlocks;
        public readonly ReadOnlySpan<int> Blocks = blocks;
    }

    private static void Compress(ReadOnlySpan<byte> data, int lanes, int longest, Layout layout, ReadOnlySpan<byte> scratch, Span<byte> destination)
    {
        ref var dataStart = ref MemoryMarshal.GetReference(data);
        ref var scratchStart = ref MemoryMarshal.GetReference(scratch);
        var swap = Vector512.Create(ByteSwap);
        var blockCounts = Vector512.Create(MemoryMarshal.Cast<int, uint>(layout.Blocks));
        Span<Vector512<uint>> rows = stackalloc Vector512<uint>[Lanes];
        Span<Vector512<uint>> w = stackalloc Vector512<uint>[64];

        var h0 = Vector512.Create(0x6a09e667u);
        var h1 = Vector512.Create(0xbb67ae85u);
        var h2 = Vector512.Create(0x3c6ef372u);
        var h3 = Vector512.Create(0xa54ff53au);
        var h4 = Vector512.Create(0x510e527fu);
        var h5 = Vector512.Create(0x9b05688cu);
        var h6 = Vector512.Create(0x1f83d9abu);
        var h7 = Vector512.Create(0x5be0cd19u);
        for (var block = 0; block < longest; block++)
        {
            for (var lane = 0; lane < Lanes; lane++)
            {
                // Block j of a lane: scratch block 0 if it is the assembled head, then the blocks in
                // place, then the tail from scratch (which follows the head there).
                Vector512<byte> row = default;
                if (lane < lanes && block < layout.Blocks[lane])
                {
                    var inPlace = block - layout.Heads[lane];
                    row = inPlace >= 0 && inPlace < layout.InPlaceBlocks[lane]
                        ? Vector512.LoadUnsafe(ref dataStart, (nuint)(layout.InPlaceFrom[lane] + (inPlace * BlockSize)))
                        : Vector512.LoadUnsafe(ref scratchStart, (nuint)((lane * 3 * BlockSize) + ((inPlace < 0 ? 0 : block - layout.InPlaceBlocks[lane]) * BlockSize)));
                }

                rows[lane] = Avx512BW.Shuffle(row, swap).AsUInt32();
            }

            Transpose(rows, w);
            Schedule(w);
            Rounds(w, ref h0, ref h1, ref h2, ref h3, ref h4, ref h5, ref h6, ref h7, Vector512.GreaterThan(blockCounts, Vector512.Create((uint)block)));
        }

        for (var lane = 0; lane < lanes; lane++)
        {
            var digest = destination.Slice(lane * ISha256.Size, ISha256.Size);
            BinaryPrimitives.WriteUInt32BigEndian(digest, h0.GetElement(lane));
            BinaryPrimitives.WriteUInt32BigEndian(digest[4..], h1.GetElement(lane));
            BinaryPrimitives.WriteUInt32BigEndian(digest[8..], h2.GetElement(lane));
            BinaryPrimitives.WriteUInt32BigEndian(digest[12..], h3.GetElement(lane));
            BinaryPrimitives.WriteUInt32BigEndian(digest[16..], h4.GetElement(lane));
            BinaryPrimitives.WriteUInt32BigEndian(digest[20..], h5.GetElement(lane));
            BinaryPrimitives.WriteUInt32BigEndian(digest[24..], h6.GetElement(lane));
            BinaryPrimitives.WriteUInt32BigEndian(digest[28..], h7.GetElement(lane));
        }
    }

    /// <summary>Rows (one lane's block of 16 words each) to columns (word t of every lane): a 16 x 16 transpose.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(ReadOnlySpan<Vector512<uint>> rows, Span<Vector512<uint>> w)
    {
        // Within each 128-bit quarter: interleave words of row pairs, then 64-bit pairs of those,
        // which leaves 4 x 4 transposed tiles; then move the quarters into place.
        Span<Vector512<uint>> tiles = stackalloc Vector512<uint>[Lanes];
        for (var quad = 0; quad < 4; quad++)
        {
            var r = 4 * quad;
            var a0 = Avx512F.UnpackLow(rows[r], rows[r + 1]).AsUInt64();
            var a1 = Avx512F.UnpackHigh(rows[r], rows[r + 1]).AsUInt64();
            var a2 = Avx512F.UnpackLow(rows[r + 2], rows[r + 3]).AsUInt64();
            var a3 = Avx512F.UnpackHigh(rows[r + 2], rows[r + 3]).AsUInt64();
            tiles[r] = Avx512F.UnpackLow(a0, a2).AsUInt32();
            tiles[r + 1] = Avx512F.UnpackHigh(a0, a2).AsUInt32();
            tiles[r + 2] = Avx512F.UnpackLow(a1, a3).AsUInt32();
            tiles[r + 3] = Avx512F.UnpackHigh(a1, a3).AsUInt32();
        }

        for (var m = 0; m < 4; m++)
        {
            var c0 = Avx512F.Shuffle4x128(tiles[m], tiles[4 + m], 0x44);
            var c1 = Avx512F.Shuffle4x128(tiles[m], tiles[4 + m], 0xEE);
            var c2 = Avx512F.Shuffle4x128(tiles[8 + m], tiles[12 + m], 0x44);
            var c3 = Avx512F.Shuffle4x128(tiles[8 + m], tiles[12 + m], 0xEE);
            w[m] = Avx512F.Shuffle4x128(c0, c2, 0x88);
            w[4 + m] = Avx512F.Shuffle4x128(c0, c2, 0xDD);
            w[8 + m] = Avx512F.Shuffle4x128(c1, c3, 0x88);
            w[12 + m] = Avx512F.Shuffle4x128(c1, c3, 0xDD);
        }
    }

    /// <summary>The message schedule: words 16 to 63 from the block's 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Schedule(Span<Vector512<uint>> w)
    {
        for (var t = 16; t < 64; t++)
        {
            var w15 = w[t - 15];
            var w2 = w[t - 2];
            var sigma0 = Avx512F.TernaryLogic(Avx512F.RotateRight(w15, 7), Avx512F.RotateRight(w15, 18), Avx512F.ShiftRightLogical(w15, 3), Xor3);
            var sigma1 = Avx512F.TernaryLogic(Avx512F.RotateRight(w2, 17), Avx512F.RotateRight(w2, 19), Avx512F.ShiftRightLogical(w2, 10), Xor3);
            w[t] = w[t - 16] + sigma0 + w[t - 7] + sigma1;
        }
    }

    /// <summary>The 64 rounds; lanes outside <paramref name="active"/> (their message has ended) keep their state.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rounds(
        ReadOnlySpan<Vector512<uint>> w,
        ref Vector512<uint> h0,
        ref Vector512<uint> h1,
        ref Vector512<uint> h2,
        ref Vector512<uint> h3,
        ref Vector512<uint> h4,
        ref Vector512<uint> h5,
        ref Vector512<uint> h6,
        ref Vector512<uint> h7,
        Vector512<uint> active)
    {
        var a = h0;
        var b = h1;
        var c = h2;
        var d = h3;
        var e = h4;
        var f = h5;
        var g = h6;
        var h = h7;
        // Eight rounds per pass, the working variables renamed rather than moved.
        var k = RoundConstants;
        for (var t = 0; t < 64; t += 8)
        {
            Round(a, b, c, ref d, e, f, g, ref h, w[t] + Vector512.Create(k[t]));
            Round(h, a, b, ref c, d, e, f, ref g, w[t + 1] + Vector512.Create(k[t + 1]));
            Round(g, h, a, ref b, c, d, e, ref f, w[t + 2] + Vector512.Create(k[t + 2]));
            Round(f, g, h, ref a, b, c, d, ref e, w[t + 3] + Vector512.Create(k[t + 3]));
            Round(e, f, g, ref h, a, b, c, ref d, w[t + 4] + Vector512.Create(k[t + 4]));
            Round(d, e, f, ref g, h, a, b, ref c, w[t + 5] + Vector512.Create(k[t + 5]));
            Round(c, d, e, ref f, g, h, a, ref b, w[t + 6] + Vector512.Create(k[t + 6]));
            Round(b, c, d, ref e, f, g, h, ref a, w[t + 7] + Vector512.Create(k[t + 7]));
        }

        h0 = Vector512.ConditionalSelect(active, h0 + a, h0);
        h1 = Vector512.ConditionalSelect(active, h1 + b, h1);
        h2 = Vector512.ConditionalSelect(active, h2 + c, h2);
        h3 = Vector512.ConditionalSelect(active, h3 + d, h3);
        h4 = Vector512.ConditionalSelect(active, h4 + e, h4);
        h5 = Vector512.ConditionalSelect(active, h5 + f, h5);
        h6 = Vector512.ConditionalSelect(active, h6 + g, h6);
        h7 = Vector512.ConditionalSelect(active, h7 + h, h7);
    }

    /// <summary>One round: d += T1; h = T1 + T2 (the caller renames the variables for the next).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Round(
        Vector512<uint> a,
        Vector512<uint> b,
        Vector512<uint> c,
        ref Vector512<uint> d,
        Vector512<uint> e,
        Vector512<uint> f,
        Vector512<uint> g,
        ref Vector512<uint> h,
        Vector512<uint> wk)
    {
        var t1 = h + Avx512F.TernaryLogic(Avx512F.RotateRight(e, 6), Avx512F.RotateRight(e, 11), Avx512F.RotateRight(e, 25), Xor3)
            + Avx512F.TernaryLogic(e, f, g, Choose) + wk;
        var t2 = Avx512F.TernaryLogic(Avx512F.RotateRight(a, 2), Avx512F.RotateRight(a, 13), Avx512F.RotateRight(a, 22), Xor3)
            + Avx512F.TernaryLogic(a, b, c, Majority);
        d += t1;
        h = t1 + t2;
    }
}
