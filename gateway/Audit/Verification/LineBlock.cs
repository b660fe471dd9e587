using System.Text;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Verification;

/// <summary>
/// A block of consecutive log lines and everything about each line that does not depend on
/// the lines before it (canonical form, seq, prev, its own hash and leaf hash), computed in
/// parallel. The verifier then walks the block in order for the chain, seq and tree.
/// </summary>
/// <remarks>
/// A request line is proved canonical by <see cref="RequestLineScanner"/> without building its
/// entry; any other line, or one the scanner does not prove, is parsed and re-encoded.
/// </remarks>
internal sealed class LineBlock(ISha256 sha)
{
    public const int Capacity = 2048;
    private const int HashSize = 32;

    /// <summary>Lines checked together by one worker: one pass over the hash lanes.</summary>
    private const int Group = 16;

    private readonly int[] _start = new int[Capacity];
    private readonly int[] _length = new int[Capacity];
    private readonly byte[] _prev = new byte[Capacity * HashSize];
    private readonly byte[] _lineHash = new byte[Capacity * HashSize];
    private readonly byte[] _leafHash = new byte[Capacity * HashSize];
    private byte[] _bytes = new byte[1 << 21];
    private int _used;

    public int Count { get; private set; }

    public bool[] FirstInSegment { get; } = new bool[Capacity];

    public SegmentFile[] Segment { get; } = new SegmentFile[Capacity];

    /// <summary>Why the line is not a well-formed canonical entry; null when it is.</summary>
    public string?[] Error { get; } = new string?[Capacity];

    /// <summary>
    /// The parsed entry (also when it is not canonical), or null: a line that did not parse, or a
    /// request line the scanner proved when entries were not asked for.
    /// </summary>
    public LoggedEntry?[] Entry { get; } = new LoggedEntry?[Capacity];

    /// <summary>The line's seq, when <see cref="Error"/> is null.</summary>
    public long[] Seq { get; } = new long[Capacity];

    /// <summary>True when the line is a request entry the scanner proved: <see cref="Scanned"/> holds its parts.</summary>
    public bool[] IsScanned { get; } = new bool[Capacity];

    public ScannedRequest[] Scanned { get; } = new ScannedRequest[Capacity];

    /// <summary>True when <see cref="Prev"/> holds the decoded prev of the line.</summary>
    public bool[] PrevValid { get; } = new bool[Capacity];

    /// <summary>A line without newline that ended the reading, after the block's lines; null when there was none.</summary>
    public (SegmentFile Segment, bool Last, long Length, bool First)? Unterminated { get; set; }

    public bool IsFull => Count == Capacity;

    public void Clear()
    {
        Count = 0;
        _used = 0;
        Unterminated = null;
    }

    public ReadOnlySpan<byte> Line(int i) => _bytes.AsSpan(_start[i], _length[i]);

    public Span<byte> Prev(int i) => _prev.AsSpan(i * HashSize, HashSize);

    public ReadOnlySpan<byte> LineHash(int i) => _lineHash.AsSpan(i * HashSize, HashSize);

    public ReadOnlySpan<byte> LeafHash(int i) => _leafHash.AsSpan(i * HashSize, HashSize);

    /// <summary>The node that wrote line <paramref name="i"/> (which has no <see cref="Error"/>).</summary>
    public string Node(int i)
    {
        if (Entry[i] is { } entry)
        {
            return entry.Node;
        }

        var (start, length) = Scanned[i].Node;
        return Encoding.UTF8.GetString(Line(i).Slice(start, length));
    }

    /// <summary>Copies the reader's current (terminated) line into the block.</summary>
    public void Add(LogReader reader)
    {
        var line = reader.Line;
        if (_used + line.Length > _bytes.Length)
        {
            Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _used + line.Length));
        }

        line.CopyTo(_bytes.AsSpan(_used));
        _start[Count] = _used;
        _length[Count] = line.Length;
        FirstInSegment[Count] = reader.FirstInSegment;
        Segment[Count] = reader.Segment;
        _used += line.Length;
        Count++;
    }

    /// <summary>Checks and hashes every line, in parallel.</summary>
    /// <param name="entries">Parse every line into <see cref="Entry"/>, proved by the scanner or not.</param>
    public void Check(bool entries) =>
        Parallel.For(0, (Count + Group - 1) / Group, () => new EntryEncoder(), (group, _, encoder) =>
        {
            var first = group * Group;
            var count = Math.Min(Group, Count - first);
            // The scan reads each line front to back, which brings the group into the cache for the
            // hash lanes, which read 16 lines at once.
            for (var i = first; i < first + count; i++)
            {
                CheckLine(i, entries, encoder);
            }

            Hash(first, count);

            return encoder;
        }, _ => { });

    /// <summary>The line hashes (the chain) and the leaf hashes of lines [first, first + count), in the hash lanes where there are.</summary>
    private void Hash(int first, int count)
    {
        Span<(int Start, int Length)> messages = stackalloc (int, int)[Group];
        for (var k = 0; k < count; k++)
        {
            messages[k] = (_start[first + k], _length[first + k]);
        }

        sha.HashEach(_bytes, messages[..count], _lineHash.AsSpan(first * HashSize, count * HashSize));
        sha.HashPrefixed(0x00, _bytes, messages[..count], _leafHash.AsSpan(first * HashSize, count * HashSize));
    }

    private void CheckLine(int i, bool entries, EntryEncoder encoder)
    {
        var line = Line(i);
        if (RequestLineScanner.TryScan(line, Prev(i), out var scanned))
        {
            IsScanned[i] = true;
            Scanned[i] = scanned;
            Seq[i] = scanned.Facts.Seq;
            PrevValid[i] = true;
            Error[i] = null;
            Entry[i] = entries ? EntryParser.TryParse(line, out _) : null;
            return;
        }

        IsScanned[i] = false;
        var entry = EntryParser.TryParse(line, out var error);
        Entry[i] = entry;
        Seq[i] = entry?.Seq ?? -1;
        PrevValid[i] = entry is not null && HexEncoding.TryDecode(entry.Prev, Prev(i));
        Error[i] = entry is null ? error : EntryParser.CanonicalError(entry, line, encoder);
    }
}
