using System.Security.Cryptography;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Verification;

namespace AuditGateway.Search;

/// <summary>The outcome of one page: how many entries matched, the cursor of the next page (null at the end) and the verification of the log.</summary>
internal sealed record SearchPage(int Matched, string? NextCursor, VerifyResult Verified);

/// <summary>
/// Finds entries by scanning the log while <see cref="LogVerifier"/> checks it, in one pass: every page
/// verifies the whole log (its prefix before the page included, and the checkpoints after it), so a
/// tampered log is reported whichever page is read. There is no index: each page costs a scan of the log.
/// </summary>
internal static class LogSearch
{
    /// <summary>
    /// Calls <paramref name="onMatch"/> for each matching entry, in seq order, up to the query's limit.
    /// A match seen after a checkpoint later fails is still handed over: use the matches only when
    /// <see cref="SearchPage.Verified"/> is intact, or say that the log was tampered after them.
    /// </summary>
    public static SearchPage Run(string dataDirectory, ECDsa? publicKey, ISha256 sha, SearchQuery query, VerifiedEntryVisitor onMatch)
    {
        var matched = 0;
        var last = -1L;
        var more = false;
        using var verifier = new LogVerifier(dataDirectory, publicKey, trusted: null, sha)
        {
            OnEntry = (entry, line) =>
            {
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
                onMatch(entry, line);
            },
        };
        var result = verifier.Verify();
        return new SearchPage(matched, more ? SearchCursor.Encode(last + 1) : null, result);
    }
}
