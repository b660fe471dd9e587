using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Verification;

/// <summary>
/// A block of consecutive log lines and everything about each line that does not depend on
/// the lines before it (parse, canonical re-encoding, its own hash and leaf hash), computed in
/// parallel. The verifier then walks the block in order for the chain, seq and tree.
/// </summary>
internal sealed class LineBlock(ISha256 sha)
{
    public const int Capacity = 2048;
    private const int HashSize = 32;

    private readonly int[] _start = new int[Capacity];
    private readonly int[] _length = new int[Capacity];
    private byte[] _bytes = new byte[1 << 21];
    private int _used;

    public int Count { get; private set; }

    public bool[] FirstInSegment { get; } = new bool[Capacity];

    public SegmentFile[] Segment { get; } = new SegmentFile[Capacity];

    /// <summary>Why the line is not a well-formed canonical entry; null when it is.</summary>
    public string?[] Error { get; } = new string?[Capacity];

    /// <summary>The parsed entry (also when it is not canonical), or null.</summary>
    public LoggedEntry?[] Entry { get; } = new LoggedEntry?[Capacity];

    /// <summary>True when <see cref="Prev"/> holds the decoded prev of the line.</summary>
    public bool[] PrevValid { get; } = new bool[Capacity];

    public bool IsFull => Count == Capacity;

    public void Clear()
    {
        Count = 0;
        _used = 0;
    }

    public ReadOnlySpan<byte> Line(int i) => _bytes.AsSpan(_start[i], _length[i]);

    public Span<byte> Prev(int i) => _prev.AsSpan(i * HashSize, HashSize);

    public ReadOnlySpan<byte> LineHash(int i) => _lineHash.AsSpan(i * HashSize, HashSize);

    public ReadOnlySpan<byte> LeafHash(int i) => _leafHash.AsSpan(i * HashSize, HashSize);

    private readonly byte[] _prev = new byte[Capacity * HashSize];
    private readonly byte[] _lineHash = new byte[Capacity * HashSize];
    private readonly byte[] _leafHash = new byte[Capacity * HashSize];

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

    /// <summary>Parses, re-encodes and hashes every line, in parallel.</summary>
    public void Check() =>
        Parallel.For(0, Count, () => new EntryEncoder(), (i, _, encoder) =>
        {
            var line = Line(i);
            sha.Hash(line, _lineHash.AsSpan(i * HashSize, HashSize));
            MerkleHash.Leaf(sha, line, _leafHash.AsSpan(i * HashSize, HashSize));
            var entry = EntryParser.TryParse(line, out var error);
            Entry[i] = entry;
            PrevValid[i] = entry is not null && HexEncoding.TryDecode(entry.Prev, Prev(i));
            Error[i] = entry is null ? error : EntryParser.CanonicalError(entry, line, encoder);
            return encoder;
        }, _ => { });
}
