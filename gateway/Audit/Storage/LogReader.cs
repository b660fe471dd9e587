namespace AuditGateway.Audit.Storage;

/// <summary>
/// Streams the lines of the log across its segments in order, open and sealed (compressed) alike,
/// in constant memory, from where the log begins (<see cref="Start"/>). Bytes after
/// the last newline of a segment come back as one last line with <see cref="Unterminated"/> set
/// (in the last segment: a write cut short by a crash).
/// </summary>
internal sealed class LogReader : IDisposable
{
    private readonly List<SegmentFile> _segments;
    private int _segmentIndex = -1;
    private Stream? _file;
    private byte[] _buffer = new byte[1 << 20];
    private int _start;
    private int _end;
    private long _position;
    private bool _eof;
    private bool _complete;
    private int _lineStart;
    private int _lineLength;

    private readonly string _data;
    private readonly Func<string, List<SegmentFile>> _listSegments;

    public LogReader(string dataDirectory)
        : this(dataDirectory, LogLayout.Segments)
    {
    }

    /// <param name="dataDirectory">The data directory whose <c>log/</c> is read.</param>
    /// <param name="listSegments">Lists the segments (<see cref="LogLayout.Segments"/>); a test replaces it to act at the moment the reader looks.</param>
    public LogReader(string dataDirectory, Func<string, List<SegmentFile>> listSegments)
    {
        _data = dataDirectory;
        _listSegments = listSegments;
        (Start, _segments) = LogStart.Find(dataDirectory, listSegments(dataDirectory));
    }

    /// <summary>Where the log begins: seq 0, or after pruning the first kept seq with the tree's frontier there.</summary>
    public LogStart Start { get; private set; }

    public IReadOnlyList<SegmentFile> SegmentFiles => _segments;

    /// <summary>
    /// When set, the end of the last segment is "nothing more yet": <see cref="Read"/> returns false
    /// and a later call picks up lines and segments written since, and a partial line is left until it
    /// is complete. A segment is left only once a newer one exists and it has been read to its end after that.
    /// </summary>
    public bool Follow { get; init; }

    /// <summary>The current line, without its newline.</summary>
    public ReadOnlySpan<byte> Line => _buffer.AsSpan(_lineStart, _lineLength);

    /// <summary>The segment of the current line.</summary>
    public SegmentFile Segment => _segments[_segmentIndex];

    /// <summary>True when the current segment is the last one.</summary>
    public bool InLastSegment => _segmentIndex == _segments.Count - 1;

    /// <summary>True when the current line is the first of its segment.</summary>
    public bool FirstInSegment { get; private set; }

    /// <summary>True when the current line has no newline: the segment ends in the middle of it.</summary>
    public bool Unterminated { get; private set; }

    /// <summary>The byte offset of the current line in its segment.</summary>
    public long Offset { get; private set; }

    /// <summary>Advances to the next line; false at the end of the log.</summary>
    public bool Read()
    {
        while (true)
        {
            if (_file is null && !OpenNext())
            {
                return false;
            }

            var newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                return Take(newline, unterminated: false);
            }

            if (!_eof)
            {
                Fill();
                continue;
            }

            // The end of what the segment holds now. Following, the last segment may still grow, so
            // look for a newer one. The writer completes a segment before it creates the next, so once
            // a newer one exists this one is complete; but lines (or the rest of one) may have landed
            // after the read that found its end, so read it to its end once more before moving on.
            if (Follow && !_complete)
            {
                _eof = false;
                if (!HasNewerSegment())
                {
                    return false;
                }

                _complete = true;
                continue;
            }

            if (_end > _start)
            {
                return Take(_end - _start, unterminated: true);
            }

            _file!.Dispose();
            _file = null;
        }
    }

    public void Dispose() => _file?.Dispose();

    private bool Take(int length, bool unterminated)
    {
        Unterminated = unterminated;
        Offset = _position - (_end - _start);
        FirstInSegment = Offset == 0;
        _lineStart = _start;
        _lineLength = length;
        _start += unterminated ? length : length + 1;
        return true;
    }

    private bool HasNewerSegment()
    {
        if (!InLastSegment)
        {
            return true;
        }

        var current = _segments[_segmentIndex].FirstSeq;
        var newer = _listSegments(_data).Where(s => s.FirstSeq > current).ToList();
        _segments.AddRange(newer);
        return newer.Count > 0;
    }

    private bool OpenNext()
    {
        if (_segmentIndex + 1 >= _segments.Count && !(Follow && _segmentIndex < 0 && HasFirstSegment()))
        {
            return false;
        }

        _segmentIndex++;
        var segment = _segments[_segmentIndex];
        FileStream file;
        try
        {
            file = new FileStream(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        }
        catch (FileNotFoundException) when (!segment.Compressed && File.Exists(LogLayout.SealedPath(_data, segment.FirstSeq)))
        {
            // Sealed since it was listed (a running gateway compresses closed segments): the same lines, compressed.
            segment = new SegmentFile(segment.FirstSeq, LogLayout.SealedPath(_data, segment.FirstSeq));
            _segments[_segmentIndex] = segment;
            file = new FileStream(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        }

        _file = segment.Compressed ? new ZstdSharp.DecompressionStream(file, leaveOpen: false) : file;
        _start = _end = 0;
        _position = 0;
        _eof = false;
        _complete = false;
        return true;
    }

    private bool HasFirstSegment()
    {
        var (start, segments) = LogStart.Find(_data, _listSegments(_data));
        Start = start;
        _segments.AddRange(segments);
        return _segments.Count > 0;
    }

    private void Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        int read;
        try
        {
            read = _file!.Read(_buffer, _end, _buffer.Length - _end);
        }
        catch (Exception e) when (Segment.Compressed && e is ZstdSharp.ZstdException or EndOfStreamException)
        {
            throw new InvalidDataException($"{Segment.Path}: the compressed segment is damaged ({e.Message}) after byte {_position} of its lines");
        }

        if (read == 0 && Segment.Compressed && _end > _start)
        {
            // A sealed segment ends with a newline; a compressed stream cut short may still decode a partial frame.
            throw new InvalidDataException($"{Segment.Path}: the compressed segment ends in the middle of a line");
        }

        _end += read;
        _position += read;
        _eof = read == 0;
    }
}
