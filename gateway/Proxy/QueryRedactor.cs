using System.Text;

namespace AuditGateway.Proxy;

/// <summary>
/// The query string as the log records it: the value of every parameter named in
/// <c>audit.redactQueryParams</c> or the route's <c>redact-query</c> annotation becomes
/// <c>REDACTED</c> (names compared case-insensitively, after percent-decoding).
/// </summary>
internal sealed class QueryRedactor(IEnumerable<string> names)
{
    public const string Mask = "REDACTED";
    private readonly HashSet<string> _names = new(names, StringComparer.OrdinalIgnoreCase);

    public string? Redact(string? query, IReadOnlyList<string>? extra)
    {
        if (string.IsNullOrEmpty(query) || query == "?")
        {
            return null;
        }

        var text = query[0] == '?' ? query[1..] : query;
        var result = new StringBuilder(text.Length);
        foreach (var part in text.Split('&'))
        {
            if (result.Length > 0)
            {
                result.Append('&');
            }

            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var rawName = eq < 0 ? part : part[..eq];
            var name = Uri.UnescapeDataString(rawName.Replace('+', ' '));
            if (eq >= 0 && (_names.Contains(name) || (extra is not null && extra.Contains(name, StringComparer.OrdinalIgnoreCase))))
            {
                result.Append(rawName).Append('=').Append(Mask);
            }
            else
            {
                result.Append(part);
            }
        }

        return result.ToString();
    }
}
