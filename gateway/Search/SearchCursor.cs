using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace AuditGateway.Search;

/// <summary>
/// The opaque cursor of a search page: the next seq to read, as base64url of <c>v1:&lt;seq&gt;</c>. It names
/// a place in the log, not a filter: the next page is asked for with the same filters.
/// </summary>
internal static class SearchCursor
{
    private const string Prefix = "v1:";

    public static string Encode(long nextSeq) =>
        Base64Url.EncodeToString(Encoding.ASCII.GetBytes(Prefix + nextSeq.ToString(CultureInfo.InvariantCulture)));

    public static bool TryDecode(string text, out long nextSeq)
    {
        nextSeq = 0;
        if (text.Length > 64 || !Base64Url.IsValid(text))
        {
            return false;
        }

        var plain = Encoding.ASCII.GetString(Base64Url.DecodeFromChars(text));
        return plain.StartsWith(Prefix, StringComparison.Ordinal)
            && long.TryParse(plain.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out nextSeq);
    }
}
