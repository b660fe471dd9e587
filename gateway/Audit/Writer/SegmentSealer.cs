using System.Security.Cryptography;
using System.Threading.Channels;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// Works on segments the writer has closed, in the background and in seq order: compresses each to
/// <c>.jsonl.zst</c> (zstd, one frame per 1,024 lines; written aside, fsynced, read back and compared with the raw bytes, renamed,
/// then the raw file removed, so a stop at any step leaves one complete copy), then, with
/// <c>audit.archive.dir</c>, copies it and a checkpoint that covers it into the archive (same layout
/// as a data directory: <c>log/</c>, <c>checkpoints/</c>), each file fsynced. At start it finds the
/// work a previous run left. A failure (a full disk) is logged once and retried; it never touches
/// the open segment or the request path.
/// </summary>
internal sealed partial class SegmentSealer : IAsyncDisposable
{
    /// <summary>zstd level 3 (its default): see docs/audit-log.md for the measurement behind it.</summary>
    public const int Level = 3;

    private static readonly TimeSpan s_retry = TimeSpan.FromSeconds(1);

    private readonly AuditOptions _options;
    private readonly ILogger _logger;
    private readonly Func<SignedCheckpoint?> _latest;
    private readonly Channel<long> _work = Channel.CreateUnbounded<long>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private readonly SegmentPruner? _pruner;
    private string? _failing;
    private string? _pruneFailing;
    private long _pruneDue;

    /// <param name="options">The log's options.</param>
    /// <param name="logger">Where failures go, once per incident.</param>
    /// <param name="latest">The newest signed checkpoint (the one archived with a segment must cover it).</param>
    /// <param name="pruner">With <c>audit.retain.maxAge</c>: run on this loop every <see cref="SegmentPruner.Interval"/>.</param>
    public SegmentSealer(AuditOptions options, ILogger logger, Func<SignedCheckpoint?> latest, SegmentPruner? pruner)
    {
        _options = options;
        _logger = logger;
        _latest = latest;
        _pruner = pruner;
        _pruneDue = options.TimeProvider.GetTimestamp();
    }

    /// <summary>Queues every closed segment a previous run left raw or unarchived, and starts working.</summary>
    public void Start()
    {
        var segments = LogLayout.Segments(_options.DataDirectory);
        foreach (var segment in segments.Take(segments.Count - 1))
        {
            if (!segment.Compressed || (_options.ArchiveDirectory is { } archive && !File.Exists(LogLayout.SealedPath(archive, segment.FirstSeq))))
            {
                _work.Writer.TryWrite(segment.FirstSeq);
            }
        }

        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    /// <summary>The writer closed the segment whose first entry is <paramref name="firstSeq"/> (written and fsynced).</summary>
    public void Closed(long firstSeq) => _work.Writer.TryWrite(firstSeq);

    /// <summary>After the writer's last checkpoint: finishes the work queued (without waiting on a failure), then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _work.Writer.TryComplete();
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
            // What is left is found again at the next start.
        }

        _stop.Dispose();
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        var pending = new Queue<long>();
        while (true)
        {
            if (pending.Count == 0 && !await WaitAsync())
            {
                return;
            }

            await PruneWhenDueAsync(cancellationToken);
            while (_work.Reader.TryRead(out var seq))
            {
                pending.Enqueue(seq);
            }

            if (pending.Count == 0)
            {
                continue;
            }

            var next = pending.Peek();
            bool done;
            try
            {
                done = Seal(next);
                if (_failing is not null && done)
                {
                    Log.Recovered(_logger, _failing);
                    _failing = null;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                if (_failing is null)
                {
                    _failing = e.Message;
                    Log.Failed(_logger, Path.GetFileName(LogLayout.SegmentPath("", next)), e.Message);
                }

                done = false;
            }

            if (done)
            {
                pending.Dequeue();
            }
            else if (_work.Reader.Completion.IsCompleted)
            {
                // Stopping: what could not be done now is found again at the next start.
                return;
            }
            else
            {
                try
                {
                    await Task.Delay(s_retry, _options.TimeProvider, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    // Stopping: one more try (the stop's checkpoint may cover the segment now), then done.
                }
            }
        }
    }

    /// <summary>Waits for a closed segment or for the next prune; false once stopping with nothing left.</summary>
    private async Task<bool> WaitAsync()
    {
        if (_pruner is null)
        {
            return await _work.Reader.WaitToReadAsync(CancellationToken.None);
        }

        var wait = _options.TimeProvider.GetElapsedTime(_options.TimeProvider.GetTimestamp(), _pruneDue);
        if (wait <= TimeSpan.Zero)
        {
            return true;
        }

        using var due = new CancellationTokenSource(wait, _options.TimeProvider);
        try
        {
            return await _work.Reader.WaitToReadAsync(due.Token);
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    private async Task PruneWhenDueAsync(CancellationToken cancellationToken)
    {
        var time = _options.TimeProvider;
        if (_pruner is null || cancellationToken.IsCancellationRequested || time.GetTimestamp() < _pruneDue)
        {
            return;
        }

        try
        {
            await _pruner.PruneAsync(cancellationToken);
            if (_pruneFailing is not null)
            {
                Log.PruneRecovered(_logger, _pruneFailing);
                _pruneFailing = null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            if (_pruneFailing is null)
            {
                _pruneFailing = e.Message;
                Log.PruneFailed(_logger, e.Message);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException && cancellationToken.IsCancellationRequested)
        {
            // Stopping (the log no longer takes entries): the next start prunes.
        }

        _pruneDue = time.GetTimestamp() + (long)(_pruner.Interval.TotalSeconds * time.TimestampFrequency);
    }

    /// <summary>Compresses, then archives, one closed segment; false when it must wait (no covering checkpoint yet).</summary>
    private bool Seal(long firstSeq)
    {
        var data = _options.DataDirectory;
        var raw = LogLayout.SegmentPath(data, firstSeq);
        var sealedPath = LogLayout.SealedPath(data, firstSeq);
        if (File.Exists(raw))
        {
            Compress(raw, sealedPath);
        }

        if (_options.ArchiveDirectory is not { } archive || !File.Exists(sealedPath))
        {
            return true;
        }

        // The archive gets a checkpoint that covers the whole segment, so it can be verified on its own.
        var end = LogLayout.Segments(data).FirstOrDefault(s => s.FirstSeq > firstSeq).FirstSeq;
        if (_latest() is not { } checkpoint || checkpoint.Checkpoint.Size < end)
        {
            return false;
        }

        Directory.CreateDirectory(LogLayout.LogDirectory(archive));
        Directory.CreateDirectory(LogLayout.CheckpointDirectory(archive));
        var copy = LogLayout.SealedPath(archive, firstSeq);
        if (!SameContent(sealedPath, copy))
        {
            CopyDurably(sealedPath, copy);
        }

        if (!File.Exists(LogLayout.CheckpointPath(archive, checkpoint.Checkpoint.Size)))
        {
            CheckpointStore.Write(archive, checkpoint);
        }

        FileSpace.SyncDirectory(LogLayout.CheckpointDirectory(archive));
        return true;
    }

    /// <summary>raw → .zst beside it, verified, then the raw file removed; each step durable.</summary>
    private static void Compress(string raw, string sealedPath)
    {
        var partial = sealedPath + ".partial";
        byte[] rawHash;
        using (var input = new FileStream(raw, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16))
        using (var output = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            using (var hashing = new HashingStream(input))
            {
                CompressInFrames(hashing, output);
                rawHash = hashing.Hash();
            }

            output.Flush(flushToDisk: true);
        }

        using (var check = new ZstdSharp.DecompressionStream(new FileStream(partial, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), leaveOpen: false))
        {
            if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(check), rawHash))
            {
                File.Delete(partial);
                throw new InvalidDataException($"{Path.GetFileName(sealedPath)}: the compressed copy does not read back as the segment; kept the segment uncompressed");
            }
        }

        var directory = Path.GetDirectoryName(raw)!;
        File.Move(partial, sealedPath, overwrite: true);
        FileSpace.SyncDirectory(directory);
        File.Delete(raw);
        FileSpace.SyncDirectory(directory);
    }

    /// <summary>
    /// One zstd frame per <see cref="SegmentLines.LinesPerFrame"/> lines, concatenated: still one
    /// ordinary <c>.zst</c> file (<c>zstdcat</c> reads it), and one entry can be read by decompressing
    /// only its frame (<see cref="SegmentLines"/>).
    /// </summary>
    private static void CompressInFrames(Stream input, Stream output)
    {
        using var compressor = new ZstdSharp.Compressor(Level);
        var frame = new MemoryStream();
        var lines = 0;
        var buffer = new byte[1 << 20];
        int read;
        while ((read = input.Read(buffer)) > 0)
        {
            var chunk = buffer.AsSpan(0, read);
            while (chunk.Length > 0)
            {
                var newline = chunk.IndexOf((byte)'\n');
                var take = newline < 0 ? chunk.Length : newline + 1;
                frame.Write(chunk[..take]);
                chunk = chunk[take..];
                if (newline >= 0 && ++lines == SegmentLines.LinesPerFrame)
                {
                    output.Write(compressor.Wrap(frame.GetBuffer().AsSpan(0, (int)frame.Length)));
                    frame.SetLength(0);
                    lines = 0;
                }
            }
        }

        if (frame.Length > 0)
        {
            output.Write(compressor.Wrap(frame.GetBuffer().AsSpan(0, (int)frame.Length)));
        }
    }

    private static bool SameContent(string a, string b)
    {
        if (!File.Exists(b) || new FileInfo(a).Length != new FileInfo(b).Length)
        {
            return false;
        }

        using var fa = File.OpenRead(a);
        using var fb = File.OpenRead(b);
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(fa), SHA256.HashData(fb));
    }

    private static void CopyDurably(string source, string destination)
    {
        var partial = destination + ".partial";
        using (var input = File.OpenRead(source))
        using (var output = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            input.CopyTo(output, 1 << 20);
            output.Flush(flushToDisk: true);
        }

        File.Move(partial, destination, overwrite: true);
        FileSpace.SyncDirectory(Path.GetDirectoryName(destination)!);
    }

    /// <summary>A read-through stream that hashes what passes.</summary>
    private sealed class HashingStream(Stream inner) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public byte[] Hash() => _hash.GetHashAndReset();

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            _hash.AppendData(buffer, offset, read);
            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _hash.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Error, "Sealing log segment {Segment} failed: {Reason}; the segment stays as it is and sealing is retried.")]
        public static partial void Failed(ILogger logger, string segment, string reason);

        [LoggerMessage(21, LogLevel.Information, "Sealing log segments works again (it had failed: {Reason}).")]
        public static partial void Recovered(ILogger logger, string reason);

        [LoggerMessage(22, LogLevel.Error, "Pruning the audit log (audit.retain.maxAge) failed: {Reason}; nothing was removed that its pruned entry does not name, and pruning is retried.")]
        public static partial void PruneFailed(ILogger logger, string reason);

        [LoggerMessage(23, LogLevel.Information, "Pruning the audit log works again (it had failed: {Reason}).")]
        public static partial void PruneRecovered(ILogger logger, string reason);
    }
}
