using System.Text.Json;
using System.Text.Json.Nodes;

namespace AuditGateway.Tests.Common.FakeApiServer;

/// <summary>
/// Field and label selectors: comma-separated terms, each <c>key=value</c>, <c>key==value</c> or
/// <c>key!=value</c>; a label term may also be a bare <c>key</c> or <c>!key</c> (existence).
/// Field keys are dotted JSON paths (<c>metadata.name</c>, <c>type</c>).
/// </summary>
internal sealed class Selector
{
    private readonly List<(string Key, string? Value, bool Negated)> _terms = [];
    private readonly bool _labels;

    private Selector(bool labels) => _labels = labels;

    public static Selector? ParseFields(string? text) => Parse(text, labels: false);

    public static Selector? ParseLabels(string? text) => Parse(text, labels: true);

    private static Selector? Parse(string? text, bool labels)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var selector = new Selector(labels);
        foreach (var raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var ne = raw.IndexOf("!=", StringComparison.Ordinal);
            if (ne > 0)
            {
                selector._terms.Add((raw[..ne], raw[(ne + 2)..], true));
                continue;
            }

            var eq = raw.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                selector._terms.Add((raw[..eq], raw[(eq + 1)..].TrimStart('='), false));
            }
            else if (labels)
            {
                selector._terms.Add((raw.TrimStart('!'), null, raw.StartsWith('!')));
            }
            else
            {
                throw ApiError.BadRequest($"invalid field selector term '{raw}'");
            }
        }

        return selector;
    }

    public bool Matches(JsonObject obj)
    {
        foreach (var (key, value, negated) in _terms)
        {
            var actual = _labels ? Label(obj, key) : Field(obj, key);
            var holds = value is null ? actual is not null : actual == value;
            if (holds == negated)
            {
                return false;
            }
        }

        return true;
    }

    private static string? Label(JsonObject obj, string key) =>
        obj["metadata"]?["labels"]?[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static string? Field(JsonObject obj, string path)
    {
        JsonNode? node = obj;
        foreach (var part in path.Split('.'))
        {
            node = node is JsonObject o ? o[part] : null;
        }

        return node is JsonValue v ? v.ToString() : "";
    }
}
