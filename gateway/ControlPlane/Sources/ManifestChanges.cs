using System.Text.Json.Nodes;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.ControlPlane.Sources;

/// <summary>The changes between two reads of the manifests: objects added or whose JSON differs, then objects gone.</summary>
internal static class ManifestChanges
{
    public static List<ResourceChange> Between(
        IReadOnlyDictionary<ObjectKey, KubeResource> before, IReadOnlyDictionary<ObjectKey, KubeResource> after)
    {
        var changes = new List<ResourceChange>();
        foreach (var (key, resource) in after)
        {
            if (!before.TryGetValue(key, out var old) || !JsonNode.DeepEquals(old.Json, resource.Json))
            {
                changes.Add(new ResourceChange(key, old, resource));
            }
        }

        foreach (var (key, old) in before)
        {
            if (!after.ContainsKey(key))
            {
                changes.Add(new ResourceChange(key, old, null));
            }
        }

        return changes;
    }
}
