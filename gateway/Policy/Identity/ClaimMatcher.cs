using System.Text;
using System.Text.Json;

namespace AuditGateway.Policy.Identity;

/// <summary>
/// The <c>require-claims</c> check (docs/annotations.md): the claim must contain the value. A string claim must equal it;
/// an array claim must have an element equal to it; the <c>scope</c> and <c>scp</c> string claims are
/// space-separated lists (RFC 8693 §4.2) and must contain it as one item. Numbers and booleans compare by their
/// JSON text (<c>email_verified=true</c>). Comparison is ordinal. Other string claims are not split, so a
/// <c>sub</c> of "alice admin" does not satisfy <c>sub=admin</c>.
/// </summary>
internal static class ClaimMatcher
{
    public static bool Matches(IReadOnlyDictionary<string, JsonElement> claims, ClaimRequirement requirement) =>
        claims.TryGetValue(requirement.Claim, out var value) && Contains(value, requirement.Claim, requirement.Value);

    /// <summary>All requirements hold; returns the first that does not, or null.</summary>
    public static ClaimRequirement? FirstUnmet(IReadOnlyDictionary<string, JsonElement> claims, IReadOnlyList<ClaimRequirement>? requirements)
    {
        if (requirements is null)
        {
            return null;
        }

        foreach (var requirement in requirements)
        {
            if (!Matches(claims, requirement))
            {
                return requirement;
            }
        }

        return null;
    }

    private static bool Contains(JsonElement value, string claim, string wanted) => value.ValueKind switch
    {
        JsonValueKind.String when claim is "scope" or "scp" =>
            value.GetString()!.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(wanted, StringComparer.Ordinal),
        JsonValueKind.String => value.GetString() == wanted,
        JsonValueKind.Array => value.EnumerateArray().Any(item => item.ValueKind != JsonValueKind.Array && Contains(item, "", wanted)),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText() == wanted,
        _ => false,
    };
}

/// <summary>Claims as text for the audit log.</summary>
internal static class ClaimText
{
    /// <summary>A string as is; an array's elements joined with one space (non-strings as compact JSON); anything
    /// else as compact JSON; cut at <paramref name="maxLength"/> characters, ending in "…".</summary>
    public static string Flatten(JsonElement value, int maxLength)
    {
        var text = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Array => string.Join(' ', value.EnumerateArray().Select(Item)),
            _ => Compact(value),
        };
        return text.Length <= maxLength ? text : text[..(maxLength - 1)] + "…";
    }

    private static string Item(JsonElement item) => item.ValueKind == JsonValueKind.String ? item.GetString()! : Compact(item);

    private static string Compact(JsonElement value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            value.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}

/// <summary>One <c>claim=value</c> of the <c>require-claims</c> annotation, or a role an admin principal must have.</summary>
internal sealed record ClaimRequirement(string Claim, string Value);
