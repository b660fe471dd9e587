using System.Security.Cryptography;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Notes;
using AuditGateway.Audit.Storage;
using AuditGateway.Audit.Verification;

namespace AuditGateway.Search;

/// <summary>
/// A search by request id, identity, client or route through <see cref="SearchIndex"/>, without a
/// pass over the log: each entry the index names is read from its segment (one zstd frame when
/// sealed), matched again, and proven included in the tree of the newest signed checkpoint (an
/// RFC 6962 inclusion proof from the stored tree, checked against the signed root). It answers only
/// when every result is proven; otherwise (no checkpoint or stored tree yet, an entry newer than the
/// checkpoint, a proof that fails) the caller scans, which also locates any tampering.
/// What it does not do is read the rest of the log: <c>--verify</c> does.
/// </summary>
internal static class IndexedSearch
{
    private const int CandidateBatch = 256;

    public static SearchPage? TryRun(string dataDirectory, ECDsa? publicKey, ISha256 sha, SearchQuery query, VerifiedEntryVisitor onMatch)
    {
        if (!SearchIndex.Serves(query) || publicKey is null || Signed(dataDirectory, publicKey) is not { } checkpoint)
        {
            return null;
        }

        var size = checkpoint.Size;
        var (start, segments) = LogStart.Find(dataDirectory, LogLayout.Segments(dataDirectory));
        var results = new List<(LoggedEntry Entry, byte[] Line)>();
        var lines = new SegmentLines.Cache();
        var more = false;
        try
        {
            using var index = SearchIndex.OpenAndUpdate(dataDirectory);
            var from = Math.Max(query.StartSeq, start.Seq);
            while (!more)
            {
                var candidates = index.Candidates(query, from, CandidateBatch);
                foreach (var seq in candidates)
                {
                    if (Read(segments, lines, seq) is not { } found)
                    {
                        return null;
                    }

                    if (!query.Matches(found.Entry))
                    {
                        continue;
                    }

                    if (!Proven(dataDirectory, sha, found.Line, seq, size, checkpoint.Root))
                    {
                        return null;
                    }

                    if (results.Count == query.Limit)
                    {
                        more = true;
                        break;
                    }

                    results.Add(found);
                }

                if (candidates.Count < CandidateBatch)
                {
                    break;
                }

                from = candidates[^1] + 1;
            }
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            // A damaged or locked index: it is only a shortcut; the scan answers.
            return null;
        }

        foreach (var (entry, line) in results)
        {
            onMatch(entry, line);
        }

        var proven = new VerifyResult(size, 1, checkpoint.Root, 0, null, null);
        return new SearchPage(results.Count, more ? SearchCursor.Encode(results[^1].Entry.Seq + 1) : null, proven) { ProvenIndividually = true };
    }

    /// <summary>The entry at <paramref name="seq"/> and its line as on disk; null when it is not there or not an entry with that seq.</summary>
    private static (LoggedEntry Entry, byte[] Line)? Read(List<SegmentFile> segments, SegmentLines.Cache lines, long seq)
    {
        var at = segments.FindLastIndex(s => s.FirstSeq <= seq);
        return at >= 0
            && lines.Read(segments[at], seq - segments[at].FirstSeq) is { } line
            && EntryParser.TryParse(line, out _) is { } entry
            && entry.Seq == seq
            ? (entry, line)
            : null;
    }

    /// <summary>Whether the line is leaf <paramref name="seq"/> of the signed tree of <paramref name="size"/>: an inclusion proof from <c>tree/</c>, checked against the signed root.</summary>
    private static bool Proven(string data, ISha256 sha, byte[] line, long seq, long size, byte[] root) =>
        seq < size
        && LogProver.FromStoredTree(data, sha, MerkleProofs.InclusionRanges(seq, size)) is { } proof
        && MerkleProofs.VerifyInclusion(sha, seq, size, MerkleHash.Leaf(sha, line), proof, root);

    /// <summary>The newest checkpoint, if its signature verifies.</summary>
    private static Checkpoint? Signed(string data, ECDsa publicKey)
    {
        var path = LogLayout.LatestCheckpoint(data);
        if (!File.Exists(path) || CheckpointStore.TryRead(path, out _) is not { } latest)
        {
            return null;
        }

        using var verifier = NoteVerifier.FromPublicKey(latest.Checkpoint.Origin, publicKey);
        return verifier.Verify(latest.Note) ? latest.Checkpoint : null;
    }
}
