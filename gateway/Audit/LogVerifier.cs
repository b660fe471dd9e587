using System.Security.Cryptography;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Notes;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit;

/// <summary>The outcome of <see cref="LogVerifier.Verify"/>: intact, or the first bad seq and why.</summary>
internal sealed record VerifyResult(long Entries, int Checkpoints, byte[] Root, long TornTailBytes, long? BadSeq, string? Reason)
{
    public bool Intact => BadSeq is null;
}

/// <summary>
/// Checks a whole log in one streaming pass, in constant memory: every line canonical, seq
/// contiguous across segments, the prev chain, and every signed checkpoint (signature, origin,
/// root against the tree recomputed at its size; successive checkpoints that all match one
/// recomputed tree are consistent with each other), plus an optional trusted checkpoint kept by
/// an auditor, which catches truncation, rollback and forks that the local files cannot.
/// </summary>
/// <remarks>
/// When a checkpoint's root does not match, the first bad seq reported is the first entry not
/// covered by the previous good checkpoint: a rewrite that recomputed the chain can only be
/// located to that interval.
/// </remarks>
internal sealed class LogVerifier : IDisposable
{
    private readonly string _data;
    private readonly System.Security.Cryptography.ECDsa? _publicKey;
    private readonly SignedCheckpoint? _trusted;
    private readonly Dictionary<string, NoteVerifier> _verifiers = [];
    private readonly MerkleFrontier _tree = new();
    private readonly EntryEncoder _encoder = new();
    private long _lastGood;
    private int _checkpoints;

    /// <param name="publicKey">The signer's public key; required when there are checkpoints to check.</param>
    /// <param name="trusted">A checkpoint saved earlier by an auditor; its signature must already have been checked.</param>
    public LogVerifier(string dataDirectory, ECDsa? publicKey, SignedCheckpoint? trusted)
    {
        _data = dataDirectory;
        _publicKey = publicKey;
        _trusted = trusted;
    }

    public VerifyResult Verify()
    {
        if (!Directory.Exists(LogLayout.LogDirectory(_data)))
        {
            throw new DirectoryNotFoundException($"{LogLayout.LogDirectory(_data)} does not exist");
        }

        var checkpoints = LogLayout.Checkpoints(_data);
        if (checkpoints.Count > 0 && _publicKey is null)
        {
            throw new InvalidOperationException("there are checkpoints to check but no public key: pass --public-key");
        }

        var latest = ReadLatest(checkpoints, out var latestProblem);
        var next = 0;
        long count = 0;
        long torn = 0;
        Span<byte> prev = stackalloc byte[32];
        Span<byte> leaf = stackalloc byte[32];
        Span<byte> expectedPrev = stackalloc byte[32];
        using (var reader = new LogReader(_data))
        {
            while (reader.Read())
            {
                var line = reader.Line;
                if (reader.FirstInSegment && reader.Segment.FirstSeq != count)
                {
                    return Bad(count, $"segment {Path.GetFileName(reader.Segment.Path)} starts where seq {count} is expected (a line or segment was removed, added or reordered)");
                }

                if (reader.Unterminated)
                {
                    if (reader.InLastSegment)
                    {
                        torn = line.Length;
                        break;
                    }

                    return Bad(count, $"segment {Path.GetFileName(reader.Segment.Path)} ends in the middle of a line");
                }

                var entry = EntryParser.TryParseCanonical(line, _encoder, out var error);
                if (entry is null)
                {
                    return Bad(count, error!);
                }

                if (entry.Seq != count)
                {
                    return Bad(count, $"found seq {entry.Seq} where seq {count} is expected (a line was removed, added or reordered)");
                }

                if (!HexEncoding.TryDecode(entry.Prev, expectedPrev) || !expectedPrev.SequenceEqual(prev))
                {
                    var (badSeq, reason) = count == 0 ? (0, "prev of the first entry is not 64 zeros") : LocateBreak(reader, count);
                    return Bad(badSeq, reason);
                }

                SHA256.HashData(line, prev);
                MerkleHash.Leaf(line, leaf);
                _tree.Append(leaf);
                count++;

                for (; next < checkpoints.Count && checkpoints[next].FirstSeq <= count; next++)
                {
                    if (CheckFile(checkpoints[next], entry.Node) is { } problem)
                    {
                        return Bad(_lastGood, problem);
                    }
                }

                if (latest?.Checkpoint.Size == count && CheckRoot(latest, entry.Node, "checkpoints/latest") is { } latestBad)
                {
                    return Bad(_lastGood, latestBad);
                }

                if (_trusted?.Checkpoint.Size == count && CheckRoot(_trusted, entry.Node, "the trusted checkpoint") is { } trustedBad)
                {
                    return Bad(_lastGood, trustedBad + " (the log was rewritten or forked)");
                }
            }
        }

        if (next < checkpoints.Count)
        {
            return Bad(count, $"checkpoint {checkpoints[next].FirstSeq} covers entries beyond the end of the log at {count} (the log was truncated)");
        }

        if (latestProblem is not null)
        {
            return Bad(latest?.Checkpoint.Size ?? _lastGood, latestProblem);
        }

        if (_trusted is { } trusted && trusted.Checkpoint.Size > count)
        {
            return Bad(count, $"the trusted checkpoint covers {trusted.Checkpoint.Size} entries but the log ends at {count} (the log was truncated or rolled back)");
        }

        return new VerifyResult(count, _checkpoints, _tree.Root(), torn, null, null);
    }

    public void Dispose()
    {
        foreach (var verifier in _verifiers.Values)
        {
            verifier.Dispose();
        }
    }

    /// <summary>
    /// The link into entry <paramref name="seq"/> is broken: either entry seq-1 was changed or
    /// entry seq was. A changed entry seq also breaks the link out of it, so look one line ahead.
    /// At the end of the log the earlier entry is blamed.
    /// </summary>
    private static (long Seq, string Reason) LocateBreak(LogReader reader, long seq)
    {
        Span<byte> hash = stackalloc byte[32];
        Span<byte> next = stackalloc byte[32];
        SHA256.HashData(reader.Line, hash);
        const string Changed = "the entry does not hash to the next entry's prev (the entry was changed)";
        if (!reader.Read() || reader.Unterminated)
        {
            return (seq - 1, Changed);
        }

        var following = EntryParser.TryParse(reader.Line, out _);
        var linkOutIntact = following is not null && HexEncoding.TryDecode(following.Prev, next) && next.SequenceEqual(hash);
        return linkOutIntact ? (seq - 1, Changed) : (seq, "prev does not match the hash of the previous entry (the entry was changed)");
    }

    private VerifyResult Bad(long seq, string reason) => new(_tree.Size, _checkpoints, _tree.Root(), 0, seq, reason);

    /// <summary>Reads <c>latest</c>; a problem is reported once the entries before it have been checked.</summary>
    private SignedCheckpoint? ReadLatest(List<SegmentFile> checkpoints, out string? problem)
    {
        problem = null;
        var path = LogLayout.LatestCheckpoint(_data);
        if (!File.Exists(path))
        {
            problem = checkpoints.Count > 0 ? "checkpoints/latest is missing" : null;
            return null;
        }

        var latest = CheckpointStore.TryRead(path, out var error);
        if (latest is null)
        {
            problem = $"checkpoints/latest: {error}";
            return null;
        }

        var newest = checkpoints.Count > 0 ? checkpoints[^1].FirstSeq : 0;
        if (latest.Checkpoint.Size < newest)
        {
            problem = $"checkpoints/latest is the checkpoint of size {latest.Checkpoint.Size} but the newest is {newest} (rolled back to an older checkpoint)";
        }

        return latest;
    }

    private string? CheckFile(SegmentFile file, string node)
    {
        var name = Path.GetFileName(file.Path);
        var checkpoint = CheckpointStore.TryRead(file.Path, out var error);
        if (checkpoint is null)
        {
            return $"checkpoint {name}: {error}";
        }

        if (checkpoint.Checkpoint.Size != file.FirstSeq)
        {
            return $"checkpoint {name} holds the checkpoint of size {checkpoint.Checkpoint.Size} (replaced by another checkpoint)";
        }

        if (CheckRoot(checkpoint, node, $"checkpoint {name}") is { } problem)
        {
            return problem;
        }

        _lastGood = file.FirstSeq;
        _checkpoints++;
        return null;
    }

    private string? CheckRoot(SignedCheckpoint checkpoint, string node, string what)
    {
        var cp = checkpoint.Checkpoint;
        if (cp.Origin != Checkpoint.OriginOf(node))
        {
            return $"{what} has origin {cp.Origin} but the entries are from node {node}";
        }

        if (!ReferenceEquals(checkpoint, _trusted) && !VerifierFor(cp.Origin).Verify(checkpoint.Note))
        {
            return $"{what} does not carry a valid signature by the public key";
        }

        return CryptographicOperations.FixedTimeEquals(cp.Root, _tree.Root())
            ? null
            : $"{what} root does not match the entries [{_lastGood}, {cp.Size}) (an entry was altered and the chain recomputed)";
    }

    private NoteVerifier VerifierFor(string origin)
    {
        if (!_verifiers.TryGetValue(origin, out var verifier))
        {
            verifier = NoteVerifier.FromPublicKey(origin, _publicKey!);
            _verifiers[origin] = verifier;
        }

        return verifier;
    }
}
