using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;

namespace AuditGateway.LoadTest;

/// <summary>
/// The measurement behind the sealed-segment compressor (docs/audit-log.md): real log lines (the
/// soak's own, read back from the archive) compressed by zstd and by the built-in Brotli at several
/// levels, one thread each, as the sealer runs (warmed up, best of three). Reports bytes per entry, compression and
/// decompression speed, and how that speed compares with the rate the writer produces lines at.
/// </summary>
internal static class CompressorComparison
{
    private const int SampleBytes = 16 << 20;

    /// <summary>Up to 16 MiB of lines from the archived segments, whole lines only; the entry count.</summary>
    public static (byte[] Lines, int Entries) Sample(string archive)
    {
        var buffer = new MemoryStream();
        var logDirectory = Path.Combine(archive, "log");
        if (Directory.Exists(logDirectory))
        {
            foreach (var file in Directory.EnumerateFiles(logDirectory, "*.jsonl.zst").Order(StringComparer.Ordinal))
            {
                using var input = new ZstdSharp.DecompressionStream(File.OpenRead(file), leaveOpen: false);
                input.CopyTo(buffer);
                if (buffer.Length >= SampleBytes)
                {
                    break;
                }
            }
        }

        var bytes = buffer.GetBuffer().AsSpan(0, (int)Math.Min(buffer.Length, SampleBytes));
        var end = bytes.LastIndexOf((byte)'\n') + 1;
        var lines = bytes[..end].ToArray();
        return (lines, lines.AsSpan().Count((byte)'\n'));
    }

    /// <summary>Prints one row per compressor and level; <paramref name="linesPerSecond"/>: the writer's rate during the soak.</summary>
    public static void Report(byte[] lines, int entries, double linesPerSecond)
    {
        if (entries == 0)
        {
            Console.WriteLine("compressors: no archived lines to measure");
            return;
        }

        var bytesPerSecond = lines.Length / (double)entries * linesPerSecond;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"compressors on {lines.Length / 1048576.0:0.0} MiB of this soak's lines ({entries} entries, {lines.Length / (double)entries:0} bytes each raw); the writer produced {bytesPerSecond / 1048576.0:0.00} MiB/s"));
        Console.WriteLine("  compressor      bytes/entry   ratio   compress MiB/s   decompress MiB/s   compress x writer rate");
        foreach (var level in (int[])[1, 3, 6, 9])
        {
            Row($"zstd {level}", lines, entries, bytesPerSecond, data => Zstd(data, level), ZstdDecompress);
        }

        foreach (var quality in (int[])[1, 4, 5, 6, 9, 11])
        {
            Row($"brotli {quality}", lines, entries, bytesPerSecond, data => Brotli(data, quality), BrotliDecompress);
        }
    }

    private static void Row(string name, byte[] lines, int entries, double writerBytesPerSecond, Func<byte[], byte[]> compress, Func<byte[], int, byte[]> decompress)
    {
        // Warmed up (JIT, buffers) on the first MiB, then the best of three runs each way.
        var warm = lines.AsSpan(0, Math.Min(lines.Length, 1 << 20)).ToArray();
        _ = decompress(compress(warm), warm.Length);
        byte[] compressed = [];
        var compressSeconds = double.MaxValue;
        var decompressSeconds = double.MaxValue;
        for (var run = 0; run < 3; run++)
        {
            var clock = Stopwatch.StartNew();
            compressed = compress(lines);
            compressSeconds = Math.Min(compressSeconds, clock.Elapsed.TotalSeconds);
            clock.Restart();
            var back = decompress(compressed, lines.Length);
            decompressSeconds = Math.Min(decompressSeconds, clock.Elapsed.TotalSeconds);
            if (!back.AsSpan().SequenceEqual(lines))
            {
                throw new InvalidDataException($"{name} did not round-trip");
            }
        }

        var mib = lines.Length / 1048576.0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {name,-14} {compressed.Length / (double)entries,12:0.0} {lines.Length / (double)compressed.Length,7:0.0} {mib / compressSeconds,16:0.0} {mib / decompressSeconds,18:0.0} {lines.Length / compressSeconds / writerBytesPerSecond,22:0}"));
    }

    private static byte[] Zstd(byte[] data, int level)
    {
        using var compressor = new ZstdSharp.Compressor(level);
        return compressor.Wrap(data).ToArray();
    }

    private static byte[] ZstdDecompress(byte[] data, int length)
    {
        using var decompressor = new ZstdSharp.Decompressor();
        return decompressor.Unwrap(data).ToArray();
    }

    private static byte[] Brotli(byte[] data, int quality)
    {
        var output = new MemoryStream();
        using (var brotli = new BrotliStream(output, new BrotliCompressionOptions { Quality = quality }, leaveOpen: true))
        {
            brotli.Write(data);
        }

        return output.ToArray();
    }

    private static byte[] BrotliDecompress(byte[] data, int length)
    {
        var output = new MemoryStream(length);
        using (var brotli = new BrotliStream(new MemoryStream(data), CompressionMode.Decompress))
        {
            brotli.CopyTo(output);
        }

        return output.ToArray();
    }
}
