using System.Text.Json;

namespace AuditGateway.Policy.Identity;

/// <summary>Small readers over a config <see cref="JsonElement"/> that name the key in every error.</summary>
internal static class ConfigReader
{
    public static void RequireObject(JsonElement element, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new IdentityConfigException($"{path}: must be a mapping");
        }
    }

    /// <summary>Unknown keys are errors: a typo must not silently change behaviour.</summary>
    public static void RejectUnknownKeys(JsonElement element, string path, params string[] known)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (Array.IndexOf(known, property.Name) < 0)
            {
                throw new IdentityConfigException($"{Join(path, property.Name)}: unknown key (expected one of {string.Join(", ", known)})");
            }
        }
    }

    public static JsonElement? Optional(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public static string? OptionalString(JsonElement element, string name, string path)
    {
        if (Optional(element, name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw new IdentityConfigException($"{Join(path, name)}: must be a string");
        }

        var text = value.GetString()!.Trim();
        return text.Length == 0 ? null : text;
    }

    public static string RequiredString(JsonElement element, string name, string path) =>
        OptionalString(element, name, path) ?? throw new IdentityConfigException($"{Join(path, name)}: required");

    /// <summary>A list of non-empty strings; a single string is taken as a list of one.</summary>
    public static IReadOnlyList<string>? OptionalStringList(JsonElement element, string name, string path)
    {
        if (Optional(element, name) is not { } value)
        {
            return null;
        }

        var key = Join(path, name);
        if (value.ValueKind == JsonValueKind.String)
        {
            var single = value.GetString()!.Trim();
            return single.Length == 0 ? throw new IdentityConfigException($"{key}: must not be empty") : [single];
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new IdentityConfigException($"{key}: must be a list of strings");
        }

        var list = new List<string>();
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            var text = item.ValueKind == JsonValueKind.String ? item.GetString()!.Trim() : "";
            if (text.Length == 0)
            {
                throw new IdentityConfigException($"{key}[{index}]: must be a non-empty string");
            }

            list.Add(text);
            index++;
        }

        return list;
    }

    public static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;
}
