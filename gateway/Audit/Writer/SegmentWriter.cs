using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// The segment the writer appends to: batches written and fsynced, their whole pages then dropped
/// from the page cache (<see cref="PageCache"/>), and a new segment, named by the seq of its first
/// entry, once this one holds <see cref="AuditOptions.SegmentMaxEntries"/> entries or
/// <see cref="AuditOptions.SegmentMaxBytes"/> bytes. A segment is complete (written and fsynced)
/// before the next one is created: <c>tail --follow</c> relies on that.
/// </summary>
internal sealed class SegmentWriter : IDisposable
{
    private readonly AuditOptions _options;
    private FileStream _file;
    private long _entries;
    private long _bytes;
    private long _droppedTo;

    /// <param name="firstSeq">The segment to append to (created when absent).</param>
    /// <param name="entries">How many entries it holds already.</param>
    /// <param name="bytes">Its length.</param>
    public SegmentWriter(AuditOptions options, long firstSeq, long entries, long bytes)
    {
        _options = options;
        _file = Open(firstSeq);
        _entries = entries;
        _bytes = bytes;
    }

    /// <summary>True when the segment, with the entries about to be written to it, has reached a limit.</summary>
    public bool IsFull(int pendingEntries, int pendingBytes) =>
        _entries + pendingEntries >= _options.SegmentMaxEntries || _bytes + pendingBytes >= _options.SegmentMaxBytes;

    /// <summary>Appends <paramref name="entries"/> lines (each ending in a newline), in one write.</summary>
    public void Write(ReadOnlySpan<byte> lines, int entries)
    {
        if (lines.Length > 0)
        {
            _file.Write(lines);
        }

        _entries += entries;
        _bytes += lines.Length;
    }

    /// <summary>Fsyncs the segment, then lets the kernel drop its durable whole pages.</summary>
    public void Sync()
    {
        _file.Flush(flushToDisk: true);
        _droppedTo = PageCache.DropDurable(_file.SafeFileHandle, _droppedTo, _bytes);
    }

    /// <summary>Closes the segment (written and synced) and starts the one whose first entry is <paramref name="firstSeq"/>.</summary>
    public void Roll(long firstSeq)
    {
        PageCache.DropClosed(_file.SafeFileHandle, _droppedTo, _bytes);
        _file.Dispose();
        _file = Open(firstSeq);
        _entries = 0;
        _bytes = 0;
        _droppedTo = 0;
    }

    public void Dispose() => _file.Dispose();

    private FileStream Open(long firstSeq)
    {
        var file = new FileStream(LogLayout.SegmentPath(_options.DataDirectory, firstSeq), FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, bufferSize: 0);
        file.Seek(0, SeekOrigin.End);
        return file;
    }
}
