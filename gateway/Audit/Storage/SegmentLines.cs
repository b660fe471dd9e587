namespace AuditGateway.Audit.Storage;

/// <summary>
/// Reads one line of a segment without reading the log up to it: in a sealed segment only the zstd
/// frame that holds it is decompressed (the sealer writes one frame per <see cref="LinesPerFrame"/>
/// lines); in a raw segment reading starts at the stored offset of its 1,024-line block
/// (<c>tree/N.offsets</c>), or at the beginning when there is none.
/// </summary>
internal static class SegmentLines
{
    public const int LinesPerFrame = 1024;

    /// <summary>Line <paramref name="index"/> (0-based, within the segment), or null when the segment has fewer complete lines.</summary>
    public static byte[]? Read(SegmentFile segment, long index) => new Cache().Read(segment, index);

    /// <summary>Reads lines of sealed segments keeping the last segment's bytes and the last frame decompressed (many lines from one search).</summary>
    internal sealed class Cache
    {
        private string? _path;
        private byte[] _bytes = [];
        private long _frameNumber = -1;
        private byte[] _frame = [];
        private bool _single;

        /// <inheritdoc cref="SegmentLines.Read"/>
        public byte[]? Read(SegmentFile segment, long index)
        {
            if (!segment.Compressed)
            {
                using var raw = new FileStream(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
                return Find(raw, index - SeekNear(raw, segment, index));
            }

            if (_path != segment.Path)
            {
                _bytes = File.ReadAllBytes(segment.Path);
                _path = segment.Path;
                _frameNumber = -1;
            }

            var number = index / LinesPerFrame;
            if (_frameNumber != number || _single)
            {
                var (frame, offset) = FrameOf(_bytes, number);
                if (frame.IsEmpty)
                {
                    return null;
                }

                using var decompressor = new ZstdSharp.Decompressor();
                try
                {
                    _frame = decompressor.Unwrap(frame.Span).ToArray();
                }
                catch (ZstdSharp.ZstdException e)
                {
                    throw new InvalidDataException($"{segment.Path}: the compressed segment is damaged at byte {offset} ({e.Message})");
                }

                // A segment sealed as one frame (before frames were cut) holds every line in frame 0.
                _single = offset == 0 && frame.Length == _bytes.Length;
                _frameNumber = number;
            }

            using var memory = new MemoryStream(_frame, writable: false);
            return Find(memory, _single ? index : index % LinesPerFrame);
        }
    }

    /// <summary>A line handed over by <see cref="ForEach"/>: its index in the segment and its bytes (without the newline).</summary>
    public delegate void LineVisitor(long index, ReadOnlySpan<byte> line);

    /// <summary>
    /// Every complete line of the segment from <paramref name="fromIndex"/> on (up to, not including,
    /// <paramref name="toIndex"/>), in order, starting near it (a raw segment's stored offsets, a sealed
    /// segment's frames) rather than at the beginning.
    /// </summary>
    public static void ForEach(SegmentFile segment, long fromIndex, LineVisitor visit, long toIndex = long.MaxValue)
    {
        long index;
        Stream stream;
        if (segment.Compressed)
        {
            var bytes = File.ReadAllBytes(segment.Path);
            var (frame, offset) = FrameOf(bytes, fromIndex / LinesPerFrame);
            if (frame.IsEmpty)
            {
                return;
            }

            var single = offset == 0 && frame.Length == bytes.Length;
            index = single ? 0 : fromIndex / LinesPerFrame * LinesPerFrame;
            stream = new ZstdSharp.DecompressionStream(new MemoryStream(bytes, (int)offset, bytes.Length - (int)offset, writable: false), leaveOpen: false);
        }
        else
        {
            var raw = new FileStream(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
            index = SeekNear(raw, segment, fromIndex);
            stream = raw;
        }

        using (stream)
        {
            var buffer = new byte[1 << 20];
            var carry = new MemoryStream();
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                var chunk = buffer.AsSpan(0, read);
                while (chunk.IndexOf((byte)'\n') is var newline and >= 0)
                {
                    ReadOnlySpan<byte> line;
                    if (carry.Length > 0)
                    {
                        carry.Write(chunk[..newline]);
                        line = carry.GetBuffer().AsSpan(0, (int)carry.Length);
                    }
                    else
                    {
                        line = chunk[..newline];
                    }

                    if (index >= toIndex)
                    {
                        return;
                    }

                    if (index >= fromIndex)
                    {
                        visit(index, line);
                    }

                    index++;
                    carry.SetLength(0);
                    chunk = chunk[(newline + 1)..];
                }

                carry.Write(chunk);
            }
        }
    }

    /// <summary>
    /// Moves a raw segment's stream to the stored offset of the 1,024-line block holding line
    /// <paramref name="index"/> (<c>tree/N.offsets</c>), if there is one; returns the index of the line it is at.
    /// </summary>
    private static long SeekNear(FileStream raw, SegmentFile segment, long index)
    {
        var path = StoredTree.OffsetsPath(StoredTree.DirectoryOfSegment(segment.Path), segment.FirstSeq);
        var block = index / LinesPerFrame;
        Span<byte> stored = stackalloc byte[8];
        try
        {
            using var offsets = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (block == 0 || RandomAccess.Read(offsets, stored, block * 8) != 8)
            {
                return 0;
            }
        }
        catch (FileNotFoundException)
        {
            return 0;
        }
        catch (DirectoryNotFoundException)
        {
            return 0;
        }

        var offset = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(stored);
        if (offset <= 0 || offset > raw.Length)
        {
            return 0;
        }

        raw.Position = offset;
        return block * LinesPerFrame;
    }

    /// <summary>Frame <paramref name="number"/> of a concatenation of zstd frames, and where it starts; empty when there are fewer.</summary>
    private static unsafe (ReadOnlyMemory<byte> Frame, long Offset) FrameOf(byte[] bytes, long number)
    {
        fixed (byte* start = bytes)
        {
            long at = 0;
            for (long n = 0; at < bytes.Length; n++)
            {
                var size = ZstdSharp.Unsafe.Methods.ZSTD_findFrameCompressedSize(start + at, (nuint)(bytes.Length - at));
                if (ZstdSharp.Unsafe.Methods.ZSTD_isError(size))
                {
                    throw new InvalidDataException($"the compressed segment is damaged at byte {at}");
                }

                if (n == number || (n == 0 && at + (long)size == bytes.Length))
                {
                    return (bytes.AsMemory((int)at, (int)size), at);
                }

                at += (long)size;
            }
        }

        return (ReadOnlyMemory<byte>.Empty, 0);
    }

    /// <summary>Line <paramref name="index"/> of the stream: newlines counted a chunk at a time.</summary>
    private static byte[]? Find(Stream stream, long index)
    {
        var buffer = new byte[1 << 20];
        long seen = 0;
        MemoryStream? line = null;
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            var chunk = buffer.AsSpan(0, read);
            if (line is null)
            {
                while (seen < index && chunk.IndexOf((byte)'\n') is var newline and >= 0)
                {
                    chunk = chunk[(newline + 1)..];
                    seen++;
                }

                if (seen < index)
                {
                    continue;
                }

                line = new MemoryStream();
            }

            var end = chunk.IndexOf((byte)'\n');
            if (end >= 0)
            {
                line.Write(chunk[..end]);
                return line.ToArray();
            }

            line.Write(chunk);
        }

        // Past the end, or the line is not complete yet.
        return null;
    }
}
