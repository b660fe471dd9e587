using System.Security.Cryptography;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Notes;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Verification;

/// <summary>An entry that passed its checks, with its line as written (for readers that verify as they read: reports, search).</summary>
internal delegate void VerifiedEntryVisitor(LoggedEntry entry, ReadOnlySpan<byte> line);

/// <summary>A request entry that passed its checks, by its figures.</summary>
internal delegate void RequestVisitor(in RequestFacts request);

/// <summary>The outcome of <see cref="LogVerifier.Verify"/>: intact, or the first bad seq and why.</summary>
internal sealed record VerifyResult(long Entries, int Checkpoints, byte[] Root, long TornTailBytes, long? BadSeq, string? Reason)
{
    /// <summary>The first seq checked: 0, or where a pruned log begins (its tree started from the frontier there).</summary>
    public long FirstSeq { get; init; }

    /// <summary>With an archive: sealed local segments newer than the archive's newest (not copied yet).</summary>
    public int NotArchived { get; init; }

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
    private readonly string? _archive;
    private readonly System.Security.Cryptography.ECDsa? _publicKey;
    private readonly SignedCheckpoint? _trusted;
    private readonly Dictionary<string, NoteVerifier> _verifiers = [];
    private readonly ISha256 _sha;
    private readonly Dictionary<long, List<byte[]>> _frontiers = [];
    private readonly StringPool _routeIds = new();
    private readonly StringPool _rules = new();
    private readonly StringPool _subjects = new();
    private readonly StringPool _clients = new();
    private MerkleFrontier _tree;
    private long _first;
    private int _notArchived;
    private long _lastGood;
    private int _checkpoints;

    /// <param name="publicKey">The signer's public key; required when there are checkpoints to check.</param>
    /// <param name="trusted">A checkpoint saved earlier by an auditor; its signature must already have been checked.</param>
    /// <param name="sha">The SHA-256 that recomputes the chain and the tree.</param>
    /// <param name="archive">
    /// <c>audit.archive.dir</c>: segments not in the data directory are read from there, and every
    /// sealed local segment must be there with the same bytes.
    /// </param>
    public LogVerifier(string dataDirectory, ECDsa? publicKey, SignedCheckpoint? trusted, ISha256 sha, string? archive = null)
    {
        _archive = archive;
        _sha = sha;
        _tree = new MerkleFrontier(sha);
        _data = dataDirectory;
        _publicKey = publicKey;
        _trusted = trusted;
    }

    /// <summary>The local segments, and the archived ones for seqs no local segment starts at.</summary>
    private List<SegmentFile> ListWithArchive(string data)
    {
        var local = LogLayout.Segments(data);
        if (_archive is null)
        {
            return local;
        }

        var starts = local.Select(s => s.FirstSeq).ToHashSet();
        var all = local.Concat(LogLayout.Segments(_archive).Where(s => s.Compressed && !starts.Contains(s.FirstSeq))).ToList();
        all.Sort((a, b) => a.FirstSeq.CompareTo(b.FirstSeq));
        return all;
    }

    /// <summary>
    /// A sealed local segment the archive lacks though it holds a later one (segments are archived in
    /// order), or holds with other bytes; null when there is none. Sealed segments after the archive's
    /// newest are not archived yet (each waits for a checkpoint that covers it): counted in <see cref="_notArchived"/>.
    /// </summary>
    private VerifyResult? ArchiveProblem()
    {
        if (!Directory.Exists(_archive))
        {
            throw new DirectoryNotFoundException($"--archive: {_archive} does not exist");
        }

        var newest = LogLayout.Segments(_archive!).Select(s => s.FirstSeq).DefaultIfEmpty(-1).Max();
        foreach (var segment in LogLayout.Segments(_data).Where(s => s.Compressed))
        {
            var copy = LogLayout.SealedPath(_archive!, segment.FirstSeq);
            if (!File.Exists(copy))
            {
                if (segment.FirstSeq > newest)
                {
                    _notArchived++;
                    continue;
                }

                return new VerifyResult(0, 0, [], 0, segment.FirstSeq, $"segment {segment.Name} is sealed but missing from the archive, which holds later segments");
            }

            using var a = File.OpenRead(segment.Path);
            using var b = File.OpenRead(copy);
            if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(a), SHA256.HashData(b)))
            {
                return new VerifyResult(0, 0, [], 0, segment.FirstSeq, $"the archived copy of segment {segment.Name} differs from the local one");
            }
        }

        return null;
    }

    /// <summary>
    /// Called for each entry once its line, seq and chain are checked and it joined the tree, in seq
    /// order. A later checkpoint can still find the log tampered (an edit with a recomputed chain): a
    /// reader must use what it saw only when <see cref="VerifyResult.Intact"/>.
    /// </summary>
    public VerifiedEntryVisitor? OnEntry { get; init; }

    /// <summary>
    /// Called for each request entry once it is checked and joined the tree, in seq order, with its
    /// figures and without building the entry (unless <see cref="OnEntry"/> is set too). The same
    /// caveat as for <see cref="OnEntry"/>: use what it saw only when <see cref="VerifyResult.Intact"/>.
    /// </summary>
    public RequestVisitor? OnRequest { get; init; }

    /// <summary>
    /// Called for each entry that is not a request (config, security, lifecycle: few, and always
    /// parsed), in seq order among the <see cref="OnRequest"/> calls. Same caveat as <see cref="OnEntry"/>.
    /// </summary>
    public Action<LoggedEntry>? OnOther { get; init; }

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

        if (_archive is not null && ArchiveProblem() is { } missing)
        {
            return missing;
        }

        var latest = ReadLatest(checkpoints, out var latestProblem);
        var walk = new Walk(checkpoints, latest);
        using (var reader = new LogReader(_data, ListWithArchive))
        {
            if (Begin(reader.Start, walk) is { } early)
            {
                return early;
            }

            // Three stages at once: the feed reads a block ahead, the next block is checked in parallel
            // while this one is walked in order (the chain, the tree, checkpoints), which is sequential.
            using var feed = new BlockFeed(reader, _sha);
            var entries = OnEntry is not null;
            var ahead = feed.Take();
            var checking = StartCheck(ahead, entries);
            try
            {
                while (ahead is { } block)
                {
                    checking.GetAwaiter().GetResult();
                    ahead = feed.Take();
                    checking = StartCheck(ahead, entries);
                    for (var i = 0; i < block.Count; i++)
                    {
                        if (Step(block, i, ahead, feed, walk) is { } bad)
                        {
                            return bad;
                        }
                    }

                    walk.Unterminated ??= block.Unterminated;
                    feed.Return(block);
                }

                feed.ThrowIfFailed();
            }
            finally
            {
                // Not left running on a block the feed is about to drop, when the walk stopped early.
                checking.ContinueWith(static _ => { }, TaskScheduler.Default).Wait();
            }
        }

        if (walk.Unterminated is { } cut)
        {
            if (cut.First && cut.Segment.FirstSeq != walk.Count)
            {
                return Bad(walk.Count, SegmentStartProblem(cut.Segment, walk.Count));
            }

            if (!cut.Last)
            {
                return Bad(walk.Count, $"segment {Path.GetFileName(cut.Segment.Path)} ends in the middle of a line");
            }
        }

        var count = walk.Count;
        var next = walk.NextCheckpoint;
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

        return new VerifyResult(count, _checkpoints, _tree.Root(), walk.Unterminated?.Length ?? 0, null, null) { FirstSeq = _first, NotArchived = _notArchived };
    }

    private static Task StartCheck(LineBlock? block, bool entries) => block is null ? Task.CompletedTask : Task.Run(() => block.Check(entries));

    /// <summary>
    /// Starts the tree and the chain where the log begins. After a prune, checkpoints of the pruned
    /// part cannot be recomputed here (the archive can): they are passed over; one at the start's
    /// size is checked against the frontier, and every later one proves the frontier right.
    /// </summary>
    private VerifyResult? Begin(LogStart start, Walk walk)
    {
        _first = start.Seq;
        _tree = MerkleFrontier.Restore(_sha, start.Seq, start.Frontier);
        walk.Count = start.Seq;
        start.Prev.CopyTo(walk.Prev);
        _frontiers[start.Seq] = [.. start.Frontier];
        while (walk.NextCheckpoint < walk.Checkpoints.Count && walk.Checkpoints[walk.NextCheckpoint].FirstSeq < start.Seq)
        {
            walk.NextCheckpoint++;
        }

        if (_trusted is { } trusted && trusted.Checkpoint.Size < start.Seq)
        {
            return Bad(trusted.Checkpoint.Size,
                $"the trusted checkpoint covers {trusted.Checkpoint.Size} entries, but this log begins at seq {start.Seq} (pruned): verify with --archive");
        }

        return null;
    }

    /// <summary>A <c>pruned</c> entry must name the frontier the tree had where its range ends.</summary>
    private VerifyResult? CheckPrune(LoggedEntry entry)
    {
        if (entry.Body is not LifecycleBody { Pruned: { } pruned }
            || !_frontiers.TryGetValue(pruned.ToSeq + 1, out var frontier))
        {
            return null;
        }

        return pruned.Frontier.SequenceEqual(frontier.Select(Convert.ToHexStringLower), StringComparer.OrdinalIgnoreCase)
            ? null
            : Bad(entry.Seq, $"the pruned entry names a frontier that is not the tree's at seq {pruned.ToSeq + 1} (the entry was changed)");
    }

    /// <summary>One entry, in order: segment start, canonical form, seq, chain, tree, checkpoints at this size.</summary>
    private VerifyResult? Step(LineBlock block, int i, LineBlock? after, BlockFeed feed, Walk walk)
    {
        var count = walk.Count;
        if (block.FirstInSegment[i] && block.Segment[i].FirstSeq != count)
        {
            return Bad(count, SegmentStartProblem(block.Segment[i], count));
        }

        if (block.Error[i] is { } error)
        {
            return Bad(count, error);
        }

        var entry = block.Entry[i];
        var seq = block.Seq[i];
        if (block.FirstInSegment[i])
        {
            _frontiers.TryAdd(count, _tree.Nodes());
        }

        if (seq != count)
        {
            return Bad(count, $"found seq {seq} where seq {count} is expected (a line was removed, added or reordered)");
        }

        if (!block.PrevValid[i] || !block.Prev(i).SequenceEqual(walk.Prev))
        {
            var (badSeq, reason) = count == 0 ? (0, "prev of the first entry is not 64 zeros") : LocateBreak(block, i, after, feed);
            return Bad(badSeq, reason);
        }

        if (entry is not null && CheckPrune(entry) is { } badPrune)
        {
            return badPrune;
        }

        // A checkpoint of the size a pruned log begins at is checked against the frontier, before the first entry joins the tree.
        if (count == _first && count > 0 && walk.NextCheckpoint < walk.Checkpoints.Count && walk.Checkpoints[walk.NextCheckpoint].FirstSeq == count)
        {
            if (CheckFile(walk.Checkpoints[walk.NextCheckpoint++], block.Node(i)) is { } startBad)
            {
                return Bad(count, startBad);
            }
        }

        block.LineHash(i).CopyTo(walk.Prev);
        _tree.Append(block.LeafHash(i));
        count = ++walk.Count;
        if (OnEntry is { } onEntry)
        {
            onEntry(entry!, block.Line(i));
        }

        if (OnRequest is { } onRequest)
        {
            Report(onRequest, block, i, entry);
        }

        if (OnOther is { } onOther && !block.IsScanned[i] && entry is { Body: not RequestBody })
        {
            onOther(entry);
        }

        for (; walk.NextCheckpoint < walk.Checkpoints.Count && walk.Checkpoints[walk.NextCheckpoint].FirstSeq <= count; walk.NextCheckpoint++)
        {
            if (CheckFile(walk.Checkpoints[walk.NextCheckpoint], block.Node(i)) is { } problem)
            {
                return Bad(_lastGood, problem);
            }
        }

        if (walk.Latest?.Checkpoint.Size == count && CheckRoot(walk.Latest, block.Node(i), "checkpoints/latest") is { } latestBad)
        {
            return Bad(_lastGood, latestBad);
        }

        if (_trusted?.Checkpoint.Size == count && CheckRoot(_trusted, block.Node(i), "the trusted checkpoint") is { } trustedBad)
        {
            return Bad(_lastGood, trustedBad + " (the log was rewritten or forked)");
        }

        return null;
    }

    /// <summary>Hands a request entry's figures to <paramref name="visit"/>, its route id interned.</summary>
    private void Report(RequestVisitor visit, LineBlock block, int i, LoggedEntry? entry)
    {
        if (block.IsScanned[i])
        {
            var scanned = block.Scanned[i];
            var line = block.Line(i);
            visit(scanned.Facts with
            {
                RouteId = _routeIds.Intern(line, scanned.Route),
                Rule = _rules.Intern(line, scanned.Rule),
                Subject = _subjects.Intern(line, scanned.Subject),
                ClientIp = _clients.Intern(line, scanned.Client),
            });
        }
        else if (entry?.Body is RequestBody request)
        {
            var facts = RequestFacts.Of(entry, request, request.Route is { } route ? _routeIds.Intern(route.Id) : null);
            visit(facts with
            {
                Rule = facts.Rule is { } rule ? _rules.Intern(rule) : null,
                Subject = facts.Subject is { } subject ? _subjects.Intern(subject) : null,
                ClientIp = facts.ClientIp is { } ip ? _clients.Intern(ip) : null,
            });
        }
    }

    private static string SegmentStartProblem(SegmentFile segment, long count) =>
        $"segment {Path.GetFileName(segment.Path)} starts where seq {count} is expected (a line or segment was removed, added or reordered)";

    public void Dispose()
    {
        foreach (var verifier in _verifiers.Values)
        {
            verifier.Dispose();
        }
    }

    /// <summary>
    /// The link into entry <c>seq</c> (line <paramref name="i"/> of the block) is broken: either
    /// the entry before it was changed or this one was. A changed entry also breaks the link out
    /// of it, so look one line ahead (into the block <paramref name="after"/> at the block's end).
    /// At the end of the log the earlier entry is blamed.
    /// </summary>
    private static (long Seq, string Reason) LocateBreak(LineBlock block, int i, LineBlock? after, BlockFeed feed)
    {
        const string Changed = "the entry does not hash to the next entry's prev (the entry was changed)";
        var seq = block.Seq[i];
        Span<byte> next = stackalloc byte[32];
        bool nextKnown;
        if (i + 1 < block.Count)
        {
            nextKnown = block.PrevValid[i + 1];
            block.Prev(i + 1).CopyTo(next);
        }
        else if (after is { Count: > 0 })
        {
            var following = EntryParser.TryParse(after.Line(0), out _);
            nextKnown = following is not null && HexEncoding.TryDecode(following.Prev, next);
        }
        else
        {
            // The end of the log, unless reading the rest failed.
            feed.ThrowIfFailed();
            return (seq - 1, Changed);
        }

        return nextKnown && next.SequenceEqual(block.LineHash(i))
            ? (seq - 1, Changed)
            : (seq, "prev does not match the hash of the previous entry (the entry was changed)");
    }

    /// <summary>Where the walk through the log stands.</summary>
    private sealed class Walk(List<SegmentFile> checkpoints, SignedCheckpoint? latest)
    {
        public List<SegmentFile> Checkpoints { get; } = checkpoints;

        public SignedCheckpoint? Latest { get; } = latest;

        public int NextCheckpoint { get; set; }

        public long Count { get; set; }

        /// <summary>SHA-256 of the last good line: the prev the next entry must carry.</summary>
        public byte[] Prev { get; } = new byte[32];

        /// <summary>A line without newline that ended the reading, if any.</summary>
        public (SegmentFile Segment, bool Last, long Length, bool First)? Unterminated { get; set; }
    }

    private VerifyResult Bad(long seq, string reason) => new(_tree.Size, _checkpoints, _tree.Root(), 0, seq, reason) { FirstSeq = _first };

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
