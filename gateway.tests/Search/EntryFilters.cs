using System.Net;
using System.Text.Json;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Search;

/// <summary>The search filters written again, naively, over the log's JSON: what a search must find.</summary>
internal static class EntryFilters
{
    public static string? Text(this JsonElement element, params string[] path)
    {
        foreach (var name in path)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element))
            {
                return null;
            }
        }

        return element.ValueKind switch
        {
            JsonValueKind.String => element.GetString(),
            JsonValueKind.Number => element.GetRawText(),
            _ => null,
        };
    }

    public static bool IsRequest(JsonElement e) => e.Kind() == "request";

    public static DateTimeOffset Time(this JsonElement e) => DateTimeOffset.Parse(e.Text("ts")!, System.Globalization.CultureInfo.InvariantCulture);

    public static Func<JsonElement, bool> Kind(string kind) => e => e.Kind() == kind;

    public static Func<JsonElement, bool> Route(string route) => e => IsRequest(e)
        && (e.Body().Text("route", "id") == route || $"{e.Body().Text("route", "namespace")}/{e.Body().Text("route", "ingress")}" == route);

    public static Func<JsonElement, bool> Identity(string subject) => e =>
        (IsRequest(e) && e.Body().Text("identity", "subject") == subject) || (e.Kind() == "config" && e.Body().Text("actor", "username") == subject);

    public static Func<JsonElement, bool> Client(string ip) => e => IsRequest(e) && IPAddress.Parse(e.Body().Text("client", "ip")!).Equals(IPAddress.Parse(ip));

    public static Func<JsonElement, bool> Status(Func<int, bool> status) => e => IsRequest(e) && status(int.Parse(e.Body().Text("status")!, System.Globalization.CultureInfo.InvariantCulture));

    public static Func<JsonElement, bool> Decision(string decision) => e => IsRequest(e) && e.Body().Text("decision", "decision") == decision;

    public static Func<JsonElement, bool> RequestId(string id) => e => IsRequest(e) && e.Body().Text("id") == id;

    public static Func<JsonElement, bool> Object(string ns, string name) => e => e.Kind() == "config" && e.Body().Text("object", "namespace") == ns && e.Body().Text("object", "name") == name;

    public static Func<JsonElement, bool> Actor(string actor) => e => e.Kind() == "config" && e.Body().Text("actor", "username") == actor;

    public static Func<JsonElement, bool> All(params Func<JsonElement, bool>[] filters) => e => filters.All(f => f(e));

    public static List<long> Seqs(this IEnumerable<JsonElement> entries, Func<JsonElement, bool> filter) => [.. entries.Where(filter).Select(e => e.Seq())];
}
