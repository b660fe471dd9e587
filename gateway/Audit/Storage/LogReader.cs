namespace AuditGateway.Audit.Storage;

/// <summary>
/// Streams the lines of the log across its segments in order, in constant memory. Bytes after
/// the last newline of a segment come back as one last line with <see cref="Unterminated"/> set
/// (in the last segment: a write cut short by a crash).
/// </summary>
internal sealed class LogReader : IDisposable
{
    private readonly List<SegmentFile> _segments;
    private int _segmentIndex = -1;
    private FileStream? _file;
    private byte[] _buffer = new byte[1 << 20];
    private int _start;
    private int _end;
    private long _position;
    private bool _eof;
    private int _lineStart;
    private int _lineLength;

    private readonly string _data;

    public LogReader(string dataDirectory)
    {
        _data = dataDirectory;
        _segments = LogLayout.Segments(dataDirectory);
    }

    public IReadOnlyList<SegmentFile> SegmentFiles => _segments;

    /// <summary>
    /// When set, the end of the last segment is "nothing more yet": <see cref="Read"/> returns false
    /// and a later call picks up lines and segments written since, and a partial line is left until it is complete.
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
            if (_eof && Follow && newline < 0 && !HasNewerSegment())
            {
                _eof = false;
                return false;
            }

            if (newline >= 0 || (_eof && _end > _start))
            {
                Unterminated = newline < 0;
                Offset = _position - (_end - _start);
                FirstInSegment = Offset == 0;
                _lineStart = _start;
                _lineLength = Unterminated ? _end - _start : newline;
                _start += Unterminated ? _lineLength : newline + 1;
                return true;
            }

            if (_eof)
            {
                _file!.Dispose();
                _file = null;
                continue;
            }

            Fill();
        }
    }

    public void Dispose() => _file?.Dispose();

    private bool HasNewerSegment()
    {
        if (!InLastSegment)
        {
            return true;
        }

        var current = _segments[_segmentIndex].FirstSeq;
        var newer = LogLayout.Segments(_data).Where(s => s.FirstSeq > current).ToList();
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
        _file = new FileStream(_segments[_segmentIndex].Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        _start = _end = 0;
        _position = 0;
        _eof = false;
        return true;
    }

    private bool HasFirstSegment()
    {
        _segments.AddRange(LogLayout.Segments(_data));
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

        var read = _file!.Read(_buffer, _end, _buffer.Length - _end);
        _end += read;
        _position += read;
        _eof = read == 0;
    }
}
