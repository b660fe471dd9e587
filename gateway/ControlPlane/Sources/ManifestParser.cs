using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AuditGateway.Configuration;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.ControlPlane.Sources;

/// <summary>
/// Parses one manifest file into the routing objects it holds: JSON, or YAML with any number of
/// documents, each an object or a <c>kind: List</c>. Errors name the file and the line.
/// </summary>
internal static class ManifestParser
{
    /// <exception cref="ManifestException">A syntax error, a document that is not an object, or an object that is not a valid resource.</exception>
    public static List<KubeResource> Parse(string path, byte[] bytes, ObjectOrigin origin)
    {
        var text = Encoding.UTF8.GetString(bytes);
        var documents = new List<(JsonNode? Node, int Line)>();
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                documents.Add((JsonNode.Parse(text), 1));
            }
            catch (JsonException e)
            {
                throw new ManifestException($"{path}:{(e.LineNumber ?? 0) + 1}: JSON syntax error: {e.Message.Split(" Path:")[0]}");
            }
        }
        else
        {
            try
            {
                documents.AddRange(YamlDocuments.Parse(text).Select(d => (d.Root, d.Line)));
            }
            catch (YamlSyntaxException e)
            {
                throw new ManifestException($"{path}:{e.Line}:{e.Column}: YAML syntax error: {e.Message}");
            }
        }

        var resources = new List<KubeResource>();
        foreach (var (node, line) in documents)
        {
            if (node is null)
            {
                continue;
            }

            if (node is not JsonObject obj)
            {
                throw new ManifestException($"{path}:{line}: a manifest document must be an object");
            }

            var items = obj["kind"]?.GetValueKind() == JsonValueKind.String && obj["kind"]!.GetValue<string>() == "List"
                ? (obj["items"] as JsonArray ?? []).OfType<JsonObject>()
                : [obj];
            foreach (var item in items)
            {
                try
                {
                    if (ResourceReader.TryRead(item, origin, out var resource))
                    {
                        resources.Add(resource);
                    }
                }
                catch (ResourceFormatException e)
                {
                    throw new ManifestException($"{path}:{line}: {e.Message}");
                }
            }
        }

        return resources;
    }
}
