using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// The segment the writer appends to: batches written at the durable end and fsynced, their whole
/// pages then dropped from the page cache (<see cref="PageCache"/>), and a new segment, named by the
/// seq of its first entry, once this one holds <see cref="AuditOptions.SegmentMaxEntries"/> entries or
/// <see cref="AuditOptions.SegmentMaxBytes"/> bytes. A segment is complete (written and fsynced)
/// before the next one is created: <c>tail --follow</c> relies on that.
/// <para>
/// Every write goes to the durable end, so a batch whose write or fsync failed is written again
/// whole, over whatever part of it reached the file. Space is reserved ahead of the end
/// (<see cref="FileSpace"/>, <see cref="AuditOptions.ReserveBytes"/>): when the disk fills up,
/// <see cref="EnsureReserve"/> fails while the reserve still holds the entries on their way.
/// </para>
/// </summary>
internal sealed class SegmentWriter : IDisposable
{
    private readonly AuditOptions _options;
    private FileStream _file;
    private long _entries;
    private long _bytes;
    private long _written;
    private long _droppedTo;
    private long _reservedTo;
    private bool _reserveUnsupported;
    private long _firstWriteAt;

    /// <param name="firstSeq">The segment to append to (created when absent).</param>
    /// <param name="entries">How many entries it holds already.</param>
    /// <param name="bytes">Its length.</param>
    public SegmentWriter(AuditOptions options, long firstSeq, long entries, long bytes)
    {
        _options = options;
        _file = Open(firstSeq);
        Name = NameOf(firstSeq);
        FirstSeq = firstSeq;
        _entries = entries;
        _bytes = _written = bytes;

        // A segment found open at start is as old as this start, for audit.segmentAge.
        _firstWriteAt = options.TimeProvider.GetTimestamp();
    }

    /// <summary>The seq of the open segment's first entry (its name).</summary>
    public long FirstSeq { get; private set; }

    /// <summary>The durable length of the segment: where the next batch is written.</summary>
    public long Bytes => _bytes;

    /// <summary>How long until the open segment is due to be sealed by age; null while it is empty.</summary>
    public TimeSpan? AgeDueIn => _entries == 0 ? null : _options.SegmentMaxAge - _options.TimeProvider.GetElapsedTime(_firstWriteAt);

    /// <summary>The open segment as the data directory names it (<c>log/000000000000.jsonl</c>), for messages.</summary>
    public string Name { get; private set; }

    /// <summary>True when the segment, with the entries about to be written to it, has reached a limit.</summary>
    public bool IsFull(int pendingEntries, int pendingBytes) =>
        _entries + pendingEntries >= _options.SegmentMaxEntries || _bytes + pendingBytes >= _options.SegmentMaxBytes || AgeDueIn <= TimeSpan.Zero;

    /// <summary>Writes <paramref name="entries"/> lines (each ending in a newline) at the durable end and fsyncs them.</summary>
    public void WriteDurably(ReadOnlySpan<byte> lines, int entries)
    {
        // From the durable end every time: after a failed write or fsync the whole batch is written again.
        _written = _bytes;
        if (lines.Length > 0)
        {
            _options.Faults?.Before(WriteStep.Write);
            RandomAccess.Write(_file.SafeFileHandle, lines, _written);
            _written += lines.Length;
        }

        _options.Faults?.Before(WriteStep.Sync);
        _file.Flush(flushToDisk: true);
        _bytes = _written;
        if (_entries == 0 && entries > 0)
        {
            _firstWriteAt = _options.TimeProvider.GetTimestamp();
        }

        _entries += entries;
        _droppedTo = PageCache.DropDurable(_file.SafeFileHandle, _droppedTo, _bytes);
    }

    /// <summary>
    /// Keeps at least half of <see cref="AuditOptions.ReserveBytes"/> allocated past the end;
    /// null when it is (or the file system cannot reserve), else why not.
    /// </summary>
    public string? EnsureReserve()
    {
        var want = _options.ReserveBytes;
        if (_reserveUnsupported || want <= 0 || _reservedTo - _bytes >= want / 2)
        {
            return null;
        }

        try
        {
            _options.Faults?.Before(WriteStep.Reserve);
        }
        catch (IOException e)
        {
            return e.Message;
        }

        switch (FileSpace.Reserve(_file.SafeFileHandle, _bytes, want, out var error))
        {
            case FileSpace.Outcome.Reserved:
                _reservedTo = _bytes + want;
                return null;
            case FileSpace.Outcome.Unsupported:
                _reserveUnsupported = true;
                return null;
            default:
                return error;
        }
    }

    /// <summary>True when the file system cannot reserve space (a full disk shows first as a failed write).</summary>
    public bool ReserveUnsupported => _reserveUnsupported;

    /// <summary>
    /// Creates the segment whose first entry is <paramref name="firstSeq"/> and closes this one (written
    /// and synced), releasing its reserve. When the new file cannot be created this one stays open.
    /// </summary>
    public void Roll(long firstSeq)
    {
        _options.Faults?.Before(WriteStep.Roll);
        var next = Open(firstSeq);
        FileSpace.Release(_file.SafeFileHandle, _bytes, _reservedTo);
        PageCache.DropClosed(_file.SafeFileHandle, _droppedTo, _bytes);
        _file.Dispose();
        _file = next;
        Name = NameOf(firstSeq);
        FirstSeq = firstSeq;
        _entries = 0;
        _bytes = _written = 0;
        _droppedTo = 0;
        _reservedTo = 0;
    }

    public void Dispose()
    {
        FileSpace.Release(_file.SafeFileHandle, _bytes, _reservedTo);
        _file.Dispose();
    }

    private static string NameOf(long firstSeq) => "log/" + Path.GetFileName(LogLayout.SegmentPath("", firstSeq));

    private FileStream Open(long firstSeq) =>
        new(LogLayout.SegmentPath(_options.DataDirectory, firstSeq), FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, bufferSize: 0);
}
