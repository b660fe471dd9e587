using System.Text.Json;
using System.Text.Json.Nodes;

namespace AuditGateway.Kubernetes.Client;

/// <summary>Field access into a kubeconfig document, with errors that name the file and the field.</summary>
internal sealed class KubeconfigReader(string path, JsonObject root)
{
    /// <summary>The kubeconfig file, as given.</summary>
    public string Path => path;

    /// <summary>The directory relative paths in the file are resolved against.</summary>
    public string Directory { get; } = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;

    /// <summary>A configuration error: <c>kubeconfig PATH: message</c>.</summary>
    public KubeConfigException Error(string message) => new($"kubeconfig {path}: {message}");

    public KubeConfigException Missing(string field) => Error($"{field} is missing");

    public static string? String(JsonObject? obj, string field) =>
        obj?[field] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    public static bool Bool(JsonObject? obj, string field) => obj?[field]?.GetValueKind() == JsonValueKind.True;

    public JsonObject Named(string list, string name, string body)
    {
        var entry = (root[list] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(e => String(e, "name") == name)
            ?? throw Error($"{list}: no entry named '{name}'");
        return entry[body] as JsonObject ?? throw Missing($"{list}[{name}].{body}");
    }

    /// <summary>A list of strings (absent = empty); anything else in it is an error naming its index.</summary>
    public IReadOnlyList<string> Strings(JsonObject obj, string field, string where)
    {
        if (obj[field] is not JsonArray array)
        {
            return obj[field] is null ? [] : throw Error($"{where}.{field} must be a list of strings");
        }

        return [.. array.Select((item, i) => item is JsonValue v && v.GetValueKind() == JsonValueKind.String
            ? v.GetValue<string>()
            : throw Error($"{where}.{field}[{i}] must be a string (quote it)"))];
    }

    public byte[]? Bytes(JsonObject obj, string field, string where)
    {
        if (String(obj, field) is not { Length: > 0 } text)
        {
            return null;
        }

        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw Error($"{where}.{field} is not valid base64");
        }
    }

    /// <summary>A file path field, resolved against the kubeconfig's directory, that must exist.</summary>
    public string? File(JsonObject obj, string field, string where)
    {
        if (String(obj, field) is not { Length: > 0 } value)
        {
            return null;
        }

        var full = Resolve(value);
        return System.IO.File.Exists(full) ? full : throw Error($"{where}.{field}: file {full} not found");
    }

    /// <summary>A path as kubectl reads it: absolute, or relative to the kubeconfig's directory.</summary>
    public string Resolve(string value) => System.IO.Path.GetFullPath(value, Directory);
}
