using System.Buffers.Text;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Search;

/// <summary>
/// Reads the log files forward, entry by entry, as they grow (the live stream's catch-up and gap
/// filling): each <see cref="Read"/> goes on where the last one stopped. Entries are parsed, not verified.
/// </summary>
internal sealed class LogFollower(string dataDirectory) : IDisposable
{
    private readonly LogReader _reader = new(dataDirectory) { Follow = true };
    private (long Seq, byte[] Line)? _ahead;

    /// <summary>
    /// The entries with <paramref name="fromSeq"/> &lt;= seq &lt; <paramref name="toSeq"/> that the files hold now,
    /// in seq order. Lines before <paramref name="fromSeq"/> are passed over; asking again for an earlier
    /// seq than a previous call reached finds nothing (the follower only goes forward).
    /// </summary>
    public IEnumerable<(LoggedEntry Entry, byte[] Line)> Read(long fromSeq, long toSeq)
    {
        while (true)
        {
            (long Seq, byte[] Line) next;
            if (_ahead is { } ahead)
            {
                next = ahead;
                _ahead = null;
            }
            else if (!_reader.Read())
            {
                yield break;
            }
            else if (SeqOf(_reader.Line) is not { } seq || seq < fromSeq)
            {
                continue;
            }
            else
            {
                next = (seq, _reader.Line.ToArray());
            }

            if (next.Seq >= toSeq)
            {
                _ahead = next;
                yield break;
            }

            if (next.Seq >= fromSeq && EntryParser.TryParse(next.Line, out _) is { } entry)
            {
                yield return (entry, next.Line);
            }
        }
    }

    public void Dispose() => _reader.Dispose();

    /// <summary>The seq of a line without parsing the rest: a canonical line begins <c>{"seq":N,</c>.</summary>
    private static long? SeqOf(ReadOnlySpan<byte> line)
    {
        ReadOnlySpan<byte> prefix = "{\"seq\":"u8;
        return line.StartsWith(prefix) && Utf8Parser.TryParse(line[prefix.Length..], out long seq, out _) ? seq : null;
    }
}
