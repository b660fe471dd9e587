namespace AuditGateway.Audit.Storage;

/// <summary>
/// Reads one line of a segment without reading the log up to it: in a sealed segment only the zstd
/// frame that holds it is decompressed (the sealer writes one frame per <see cref="LinesPerFrame"/>
/// lines); in a raw segment the newlines before it are counted a chunk at a time.
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
                return Find(raw, index);
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
