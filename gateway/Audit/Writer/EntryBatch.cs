using System.Runtime.InteropServices;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// The entries encoded since the writer last wrote to its segment: each encoded canonically, chained
/// to the one before (its <c>prev</c> is SHA-256 of the line before) and its leaf given to the tree;
/// the lines one after another, each ending in a newline, ready to be written in one call.
/// </summary>
/// <param name="sha">The chain's SHA-256.</param>
/// <param name="nodeId">The node every entry names.</param>
/// <param name="prev">The chain head: SHA-256 of the last line of the log, updated in place.</param>
/// <param name="nextSeq">The seq of the next entry.</param>
/// <param name="leaves">Where each line's leaf goes.</param>
internal sealed class EntryBatch(ISha256 sha, string nodeId, byte[] prev, long nextSeq, LeafHasher leaves)
{
    // The gateway's requests share route and identity objects: the encoder reuses their JSON.
    private readonly EntryEncoder _encoder = new(cacheSharedParts: true);
    private readonly List<AuditKind> _kinds = [];
    private readonly List<DateTimeOffset> _timestamps = [];
    private readonly List<AuditBody> _bodies = [];
    private byte[] _lines = new byte[1 << 16];
    private int _length;

    /// <summary>The seq the next entry gets.</summary>
    public long NextSeq { get; private set; } = nextSeq;

    /// <summary>The seq of the batch's first entry.</summary>
    public long FirstSeq { get; private set; }

    /// <summary>Entries in the batch.</summary>
    public int Count => _kinds.Count;

    /// <summary>Bytes in the batch.</summary>
    public int Length => _length;

    /// <summary>The lines, each ending in a newline.</summary>
    public ReadOnlySpan<byte> Lines => _lines.AsSpan(0, _length);

    /// <summary>The kind of each entry, in order.</summary>
    public ReadOnlySpan<AuditKind> Kinds => CollectionsMarshal.AsSpan(_kinds);

    /// <summary>The entries' times and bodies, in order (for <see cref="DurableEntriesObserver"/>).</summary>
    public ReadOnlySpan<DateTimeOffset> Timestamps => CollectionsMarshal.AsSpan(_timestamps);

    public ReadOnlySpan<AuditBody> Bodies => CollectionsMarshal.AsSpan(_bodies);

    /// <summary>
    /// Encodes the entry as the next line and returns its seq. An entry that cannot be encoded throws
    /// <see cref="ArgumentException"/> and leaves the batch and the chain as they were.
    /// </summary>
    public long Append(DateTimeOffset timestamp, AuditBody body)
    {
        _encoder.Encode(NextSeq, timestamp, nodeId, prev, body);
        var line = _encoder.Line;
        sha.Hash(line, prev);
        if (_length == 0)
        {
            FirstSeq = NextSeq;
        }

        var needed = _length + line.Length + 1;
        if (needed > _lines.Length)
        {
            Array.Resize(ref _lines, Math.Max(needed, _lines.Length * 2));
        }

        line.CopyTo(_lines.AsSpan(_length));
        leaves.Add(_lines, _length, line.Length, _encoder.LeafInput);
        _length += line.Length;
        _lines[_length++] = (byte)'\n';
        _kinds.Add(body.Kind);
        _timestamps.Add(timestamp);
        _bodies.Add(body);
        return NextSeq++;
    }

    /// <summary>Appends the leaves still waiting in the leaf hasher: then the tree holds every line of the batch.</summary>
    public void Seal() => leaves.AppendPending(Lines);

    /// <summary>Empties the batch once its lines are written.</summary>
    public void Clear()
    {
        _length = 0;
        _kinds.Clear();
        _timestamps.Clear();
        _bodies.Clear();
    }
}
