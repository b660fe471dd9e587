using System.Globalization;
using System.Net;
using System.Text;
using AuditGateway.Audit.Entries;
using AuditGateway.Configuration;

namespace AuditGateway.Search;

/// <summary>A filter value that does not parse: <see cref="Exception.Message"/> names the parameter and says what is expected.</summary>
internal sealed class SearchParameterException(string message) : Exception(message);

/// <summary>
/// The filters as text, the way the command line and the admin API receive them, and their
/// parsing into a <see cref="SearchQuery"/>. Each name is the API's (<c>requestId</c>); errors on the
/// command line name the option (<c>--request-id</c>).
/// </summary>
internal sealed record SearchParameters
{
    public string? From { get; init; }
    public string? To { get; init; }
    public string? Kind { get; init; }
    public string? Route { get; init; }
    public string? Identity { get; init; }
    public string? Client { get; init; }
    public string? Status { get; init; }
    public string? Decision { get; init; }
    public string? RequestId { get; init; }
    public string? Object { get; init; }
    public string? Actor { get; init; }
    public string? Cursor { get; init; }
    public string? Limit { get; init; }

    /// <summary>Parses every value; relative times (<c>-24h</c>) count back from <paramref name="time"/>'s now.</summary>
    /// <param name="commandLine">Name options as the command line spells them (<c>--request-id</c>) rather than as query parameters.</param>
    /// <exception cref="SearchParameterException">The first value that does not parse.</exception>
    public SearchQuery Parse(TimeProvider time, bool commandLine)
    {
        string Name(string parameter) => commandLine ? "--" + string.Concat(parameter.Select(c => char.IsUpper(c) ? "-" + char.ToLowerInvariant(c) : c.ToString())) : parameter;
        var now = time.GetUtcNow();
        var from = From is null ? (DateTimeOffset?)null : ParseTime(From, now, Name("from"));
        var to = To is null ? (DateTimeOffset?)null : ParseTime(To, now, Name("to"));
        if (from is { } f && to is { } t && t <= f)
        {
            throw new SearchParameterException($"{Name("from")} {From} and {Name("to")} {To}: the range is empty ({Name("to")} must be later)");
        }

        return new SearchQuery
        {
            From = from,
            To = to,
            Kind = Kind is null ? null : ParseName<AuditKind>(Kind, EntryEncoder.KindNames, Name("kind"), "request, config, security or lifecycle"),
            Route = NonEmpty(Route, Name("route")),
            Identity = NonEmpty(Identity, Name("identity")),
            Client = Client is null ? null : IPAddress.TryParse(Client, out var ip) ? ip : throw Bad(Name("client"), Client, "an IP address, e.g. 203.0.113.7 or 2001:db8::1"),
            Status = Status is null ? null : ParseStatus(Status, Name("status")),
            Decision = Decision is null ? null : ParseName<Audit.Entries.Decision>(Decision, EntryEncoder.DecisionNames, Name("decision"), "allow, deny or would-deny"),
            RequestId = NonEmpty(RequestId, Name("requestId")),
            Object = NonEmpty(Object, Name("object")),
            Actor = NonEmpty(Actor, Name("actor")),
            StartSeq = Cursor is null ? 0 : SearchCursor.TryDecode(Cursor, out var seq) ? seq : throw Bad(Name("cursor"), Cursor, "the cursor a previous page of the same search returned"),
            Limit = Limit is null ? SearchQuery.DefaultLimit
                : int.TryParse(Limit, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit is >= 1 and <= SearchQuery.MaxLimit ? limit
                : throw Bad(Name("limit"), Limit, $"a whole number from 1 to {SearchQuery.MaxLimit} (page on with the cursor for more)"),
        };
    }

    private static SearchParameterException Bad(string name, string value, string expected) =>
        new($"{name} '{value}': expected {expected}");

    private static string? NonEmpty(string? value, string name) =>
        value is null ? null : value.Length > 0 ? value : throw Bad(name, value, "a non-empty value");

    /// <summary>RFC 3339 (<c>2026-12-02T14:00:00Z</c>) or back from now (<c>-24h</c>, <c>-30m</c>, <c>-7d</c>).</summary>
    private static DateTimeOffset ParseTime(string text, DateTimeOffset now, string name)
    {
        const string Expected = "an RFC 3339 time (2026-12-02T14:00:00Z) or a time back from now (-30m, -24h, -7d)";
        return TimeArgument.TryParse(text, now, out var time) ? time : throw Bad(name, text, Expected);
    }

    private static StatusFilter ParseStatus(string text, string name)
    {
        const string Expected = "a status code (404) or a class (4xx)";
        if (text.Length == 3 && text[0] is >= '1' and <= '5' && text.EndsWith("xx", StringComparison.OrdinalIgnoreCase))
        {
            return new StatusFilter(text[0] - '0', IsClass: true);
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 100 and <= 599
            ? new StatusFilter(code, IsClass: false)
            : throw Bad(name, text, Expected);
    }

    /// <summary>An enum by the name the log writes (<c>would-deny</c>); <paramref name="names"/> is indexed by value.</summary>
    private static T ParseName<T>(string text, byte[][] names, string name, string expected)
        where T : struct, Enum
    {
        var wanted = text.ToLowerInvariant();
        for (var i = 0; i < names.Length; i++)
        {
            if (Encoding.UTF8.GetString(names[i]) == wanted)
            {
                return (T)Enum.ToObject(typeof(T), i);
            }
        }

        throw Bad(name, text, expected);
    }
}
