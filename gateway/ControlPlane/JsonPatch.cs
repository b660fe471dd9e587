using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.ControlPlane;

/// <summary>
/// RFC 6902 JSON Patch between two versions of an object's auditable view: its labels,
/// annotations and desired state. Objects are compared member by member; arrays of equal
/// length element by element, otherwise replaced whole (still an exact patch).
/// </summary>
internal static class JsonPatch
{
    /// <summary>Large and redundant (and for a Secret, it holds the data): never part of a diff.</summary>
    private const string LastApplied = "kubectl.kubernetes.io/last-applied-configuration";

    /// <summary>The patch turning <paramref name="before"/> into <paramref name="after"/>; null stands for "absent".</summary>
    public static JsonArray Diff(JsonNode? before, JsonNode? after)
    {
        var patch = new JsonArray();
        Compare("", before, after, patch);
        return patch;
    }

    /// <summary>
    /// What of an object a config entry records: <c>metadata.labels</c>, <c>metadata.annotations</c>
    /// and the desired state (<c>spec</c>; an EndpointSlice's endpoints and ports; a Secret's type and
    /// the SHA-256 of each data value, never the value).
    /// </summary>
    public static JsonObject? AuditableView(KubeResource? resource)
    {
        if (resource is null)
        {
            return null;
        }

        var json = resource.Json;
        var view = new JsonObject();
        var metadata = new JsonObject();
        if (json["metadata"]?["labels"] is JsonObject labels)
        {
            metadata["labels"] = labels.DeepClone();
        }

        if (json["metadata"]?["annotations"] is JsonObject annotations)
        {
            var copy = (JsonObject)annotations.DeepClone();
            copy.Remove(LastApplied);
            metadata["annotations"] = copy;
        }

        view["metadata"] = metadata;
        switch (resource.Key.Kind)
        {
            case ResourceKind.EndpointSlice:
                Copy(json, view, "addressType", "endpoints", "ports");
                break;
            case ResourceKind.Secret:
                Copy(json, view, "type");
                var hashed = new JsonObject();
                foreach (var section in (string[])["data", "stringData"])
                {
                    if (json[section] is JsonObject data)
                    {
                        foreach (var (key, value) in data)
                        {
                            var text = value?.ToString() ?? "";
                            hashed[key] = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
                        }
                    }
                }

                view["data"] = hashed;
                break;
            default:
                Copy(json, view, "spec");
                break;
        }

        return view;
    }

    private static void Copy(JsonObject from, JsonObject to, params string[] names)
    {
        foreach (var name in names)
        {
            if (from[name] is { } value)
            {
                to[name] = value.DeepClone();
            }
        }
    }

    private static void Compare(string path, JsonNode? before, JsonNode? after, JsonArray patch)
    {
        if (JsonNode.DeepEquals(before, after))
        {
            return;
        }

        switch (before, after)
        {
            case (JsonObject a, JsonObject b):
                foreach (var (key, value) in a)
                {
                    var child = $"{path}/{Escape(key)}";
                    if (!b.TryGetPropertyValue(key, out var other))
                    {
                        patch.Add(new JsonObject { ["op"] = "remove", ["path"] = child });
                    }
                    else
                    {
                        Compare(child, value, other, patch);
                    }
                }

                foreach (var (key, value) in b)
                {
                    if (!a.ContainsKey(key))
                    {
                        patch.Add(new JsonObject { ["op"] = "add", ["path"] = $"{path}/{Escape(key)}", ["value"] = value?.DeepClone() });
                    }
                }

                break;
            case (JsonArray a, JsonArray b) when a.Count == b.Count:
                for (var i = 0; i < a.Count; i++)
                {
                    Compare($"{path}/{i}", a[i], b[i], patch);
                }

                break;
            // A created object: "add" at the root (RFC 6902 §4.1: the value becomes the whole
            // document), as "replace" requires a document to exist; a deleted one: "remove" of the root.
            case (null, _) when path.Length == 0:
                patch.Add(new JsonObject { ["op"] = "add", ["path"] = path, ["value"] = after!.DeepClone() });
                break;
            case (_, null) when path.Length == 0:
                patch.Add(new JsonObject { ["op"] = "remove", ["path"] = path });
                break;
            default:
                patch.Add(new JsonObject { ["op"] = "replace", ["path"] = path, ["value"] = after?.DeepClone() });
                break;
        }
    }

    /// <summary>RFC 6901: <c>~</c> → <c>~0</c>, <c>/</c> → <c>~1</c>.</summary>
    private static string Escape(string key) => key.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
}
