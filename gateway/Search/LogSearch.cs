using System.Buffers.Text;
using System.Security.Cryptography;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Storage;
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

    /// <summary>
    /// The complete entries with <paramref name="fromSeq"/> &lt;= seq &lt; <paramref name="toSeq"/> as the files
    /// hold them now, parsed but not verified (the live stream's catch-up). Returns the seq after the last one read.
    /// </summary>
    public static long Replay(string dataDirectory, long fromSeq, long toSeq, VerifiedEntryVisitor onEntry)
    {
        var next = fromSeq;
        using var reader = new LogReader(dataDirectory);
        while (next < toSeq && reader.Read() && !reader.Unterminated)
        {
            if (SeqOf(reader.Line) is { } seq && seq >= next && seq < toSeq && EntryParser.TryParse(reader.Line, out _) is { } entry)
            {
                onEntry(entry, reader.Line);
                next = entry.Seq + 1;
            }
        }

        return next;
    }

    /// <summary>The seq of a line without parsing the rest: a canonical line begins <c>{"seq":N,</c>.</summary>
    private static long? SeqOf(ReadOnlySpan<byte> line)
    {
        ReadOnlySpan<byte> prefix = "{\"seq\":"u8;
        return line.StartsWith(prefix) && Utf8Parser.TryParse(line[prefix.Length..], out long seq, out _) ? seq : null;
    }
}
