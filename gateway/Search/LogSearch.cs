using System.Security.Cryptography;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Verification;

namespace AuditGateway.Search;

/// <summary>The outcome of one page: how many entries matched, the cursor of the next page (null at the end) and the verification of the log.</summary>
internal sealed record SearchPage(int Matched, string? NextCursor, VerifyResult Verified)
{
    /// <summary>
    /// Answered through the index: each result was proven included in the checkpoint <see cref="Verified"/>
    /// names (its size and root), and the rest of the log was not read.
    /// </summary>
    public bool ProvenIndividually { get; init; }
}

/// <summary>
/// Finds entries by scanning the log while <see cref="LogVerifier"/> checks it, in one pass: every page
/// verifies the whole log (its prefix before the page included, and the checkpoints after it), so a
/// tampered log is reported whichever page is read. There is no index: each page costs a scan of the log.
/// </summary>
internal static class LogSearch
{
    /// <summary>
    /// Calls <paramref name="onMatch"/> for each matching entry, in seq order, up to the query's limit.
    /// A match before the first bad seq may still be handed over when a later checkpoint fails (an
    /// edit with the chain recomputed is only located to the interval since the last good checkpoint):
    /// use the matches only when <see cref="SearchPage.Verified"/> is intact, or say that the log was tampered.
    /// </summary>
    public static SearchPage Run(string dataDirectory, ECDsa? publicKey, ISha256 sha, SearchQuery query, VerifiedEntryVisitor onMatch)
    {
        var matched = 0;
        var last = -1L;
        var more = false;

        // A match is handed over once the next entry has passed too: a changed entry passes its own
        // checks and is caught at the link out of it, so this keeps the changed entry itself back.
        (LoggedEntry Entry, byte[] Line)? held = null;
        using var verifier = new LogVerifier(dataDirectory, publicKey, trusted: null, sha)
        {
            OnEntry = (entry, line) =>
            {
                if (held is { } previous)
                {
                    onMatch(previous.Entry, previous.Line);
                    held = null;
                }

                if (more || !query.Matches(entry))
                {
                    return;
                }

                if (matched == query.Limit)
                {
                    more = true;
                    return;
                }

                matched++;
                last = entry.Seq;
                held = (entry, line.ToArray());
            },
        };
        var result = verifier.Verify();
        if (held is { } final && (result.Intact || final.Entry.Seq < result.BadSeq))
        {
            onMatch(final.Entry, final.Line);
        }

        return new SearchPage(matched, more ? SearchCursor.Encode(last + 1) : null, result);
    }
}
