using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AuditGateway.Kubernetes.Models;

/// <summary>The routing inputs the gateway reads.</summary>
internal enum ResourceKind
{
    Ingress,
    IngressClass,
    Service,
    EndpointSlice,
    Secret,
}

/// <summary>Identifies one object: kind, namespace (empty for cluster-scoped kinds) and name.</summary>
internal readonly record struct ObjectKey(ResourceKind Kind, string Namespace, string Name)
{
    public override string ToString() =>
        Namespace.Length == 0 ? $"{Kind}/{Name}" : $"{Kind} {Namespace}/{Name}";
}

/// <summary>Where an object was read from, when it came from a file.</summary>
internal sealed record ObjectOrigin(string Path, string Sha256);

/// <summary>
/// One object: its key, the JSON as read (for diffs) and the typed model. The JSON is kept as UTF-8
/// text — a fraction of the memory of a node tree, for every object in force — and parsed only when
/// a change to this object is compared or recorded.
/// </summary>
internal sealed class KubeResource(ObjectKey key, JsonObject json, IKubeObject obj, ObjectOrigin? origin)
{
    private readonly byte[] _json = JsonSerializer.SerializeToUtf8Bytes(json, KubeJsonContext.Default.JsonObject);

    public ObjectKey Key => key;

    public IKubeObject Object => obj;

    public ObjectOrigin? Origin => origin;

    /// <summary>The JSON as read: a new copy at each call.</summary>
    public JsonObject Json => JsonNode.Parse(_json)!.AsObject();

    /// <summary>Whether both hold the same JSON (the same text, or failing that, equal values).</summary>
    public bool SameJson(KubeResource other) => _json.AsSpan().SequenceEqual(other._json) || JsonNode.DeepEquals(Json, other.Json);
}

/// <summary>A change to one object; <c>Old</c> is null for an add, <c>New</c> for a delete.</summary>
internal sealed record ResourceChange(ObjectKey Key, KubeResource? Old, KubeResource? New);

/// <summary>Turns a JSON object into a typed resource, or explains why it cannot.</summary>
internal static class ResourceReader
{
    public const string DefaultNamespace = "default";

    /// <summary>
    /// Returns false for kinds that are not routing inputs; throws <see cref="ResourceFormatException"/>
    /// for a routing input that cannot be read.
    /// </summary>
    public static bool TryRead(JsonObject json, ObjectOrigin? origin, [NotNullWhen(true)] out KubeResource? resource)
    {
        resource = null;
        var kindName = json["kind"]?.GetValueKind() == JsonValueKind.String ? json["kind"]!.GetValue<string>() : null;
        var apiVersion = json["apiVersion"]?.GetValueKind() == JsonValueKind.String ? json["apiVersion"]!.GetValue<string>() : null;
        if (kindName is null || apiVersion is null)
        {
            throw new ResourceFormatException("the object has no apiVersion or kind");
        }

        ResourceKind kind;
        switch (kindName, apiVersion)
        {
            case ("Ingress", "networking.k8s.io/v1"): kind = ResourceKind.Ingress; break;
            case ("IngressClass", "networking.k8s.io/v1"): kind = ResourceKind.IngressClass; break;
            case ("Service", "v1"): kind = ResourceKind.Service; break;
            case ("EndpointSlice", "discovery.k8s.io/v1"): kind = ResourceKind.EndpointSlice; break;
            case ("Secret", "v1"): kind = ResourceKind.Secret; break;
            case ("Ingress" or "IngressClass" or "Service" or "EndpointSlice" or "Secret", _):
                throw new ResourceFormatException($"{kindName} apiVersion '{apiVersion}' is not supported");
            default:
                return false;
        }

        IKubeObject typed;
        try
        {
            typed = kind switch
            {
                ResourceKind.Ingress => (IKubeObject?)json.Deserialize(KubeJsonContext.Default.Ingress),
                ResourceKind.IngressClass => json.Deserialize(KubeJsonContext.Default.IngressClass),
                ResourceKind.Service => json.Deserialize(KubeJsonContext.Default.Service),
                ResourceKind.EndpointSlice => json.Deserialize(KubeJsonContext.Default.EndpointSlice),
                _ => json.Deserialize(KubeJsonContext.Default.Secret),
            } ?? throw new ResourceFormatException("the object is null");
        }
        catch (JsonException e)
        {
            var name = json["metadata"]?["name"];
            throw new ResourceFormatException($"{kindName} {name}: field {e.Path?.TrimStart('$', '.')}: {FirstSentence(e.Message)}");
        }

        var meta = typed.Metadata;
        if (string.IsNullOrEmpty(meta?.Name))
        {
            throw new ResourceFormatException($"{kindName}: metadata.name is required");
        }

        var ns = kind == ResourceKind.IngressClass ? "" : meta.Namespace ?? DefaultNamespace;
        resource = new KubeResource(new ObjectKey(kind, ns, meta.Name), json, typed, origin);
        return true;
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message;
    }
}

internal sealed class ResourceFormatException(string message) : Exception(message);
