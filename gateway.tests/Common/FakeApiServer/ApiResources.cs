using System.Text.Json.Nodes;

namespace AuditGateway.Tests.Common.FakeApiServer;

/// <summary>One REST resource the fake server serves.</summary>
internal sealed record ApiResource(string Group, string Version, string Plural, string Singular, string Kind, bool Namespaced, bool HasStatus, string[] ShortNames)
{
    public string GroupVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>The name errors use, e.g. <c>ingresses.networking.k8s.io</c>.</summary>
    public string QualifiedName => Group.Length == 0 ? Plural : $"{Plural}.{Group}";
}

/// <summary>The resources served, and the discovery documents describing them.</summary>
internal static class ApiResources
{
    public static readonly ApiResource Services = new("", "v1", "services", "service", "Service", true, true, ["svc"]);
    public static readonly ApiResource Secrets = new("", "v1", "secrets", "secret", "Secret", true, false, []);
    public static readonly ApiResource Events = new("", "v1", "events", "event", "Event", true, false, ["ev"]);
    public static readonly ApiResource Ingresses = new("networking.k8s.io", "v1", "ingresses", "ingress", "Ingress", true, true, ["ing"]);
    public static readonly ApiResource IngressClasses = new("networking.k8s.io", "v1", "ingressclasses", "ingressclass", "IngressClass", false, false, []);
    public static readonly ApiResource EndpointSlices = new("discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice", true, false, []);
    public static readonly ApiResource Leases = new("coordination.k8s.io", "v1", "leases", "lease", "Lease", true, false, []);

    public static readonly IReadOnlyList<ApiResource> All = [Services, Secrets, Events, Ingresses, IngressClasses, EndpointSlices, Leases];

    public static ApiResource? Find(string group, string version, string plural) =>
        All.FirstOrDefault(r => r.Group == group && r.Version == version && r.Plural == plural);

    public static JsonObject Version() => new()
    {
        ["major"] = "1",
        ["minor"] = "32",
        ["gitVersion"] = "v1.32.0-fake",
        ["gitCommit"] = "0000000000000000000000000000000000000000",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2025-01-01T00:00:00Z",
        ["goVersion"] = "go1.23.0",
        ["compiler"] = "gc",
        ["platform"] = "linux/amd64",
    };

    public static JsonObject CoreVersions(string serverAddress) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = serverAddress }),
    };

    public static JsonObject Groups()
    {
        var groups = new JsonArray();
        foreach (var group in All.Where(r => r.Group.Length > 0).Select(r => r.Group).Distinct())
        {
            var version = new JsonObject { ["groupVersion"] = $"{group}/v1", ["version"] = "v1" };
            groups.Add(new JsonObject
            {
                ["name"] = group,
                ["versions"] = new JsonArray(version),
                ["preferredVersion"] = version.DeepClone(),
            });
        }

        return new JsonObject { ["kind"] = "APIGroupList", ["apiVersion"] = "v1", ["groups"] = groups };
    }

    /// <summary>The APIResourceList for a group version, or null when nothing is served there.</summary>
    public static JsonObject? ResourceList(string groupVersion)
    {
        var resources = new JsonArray();
        foreach (var r in All.Where(r => r.GroupVersion == groupVersion))
        {
            resources.Add(new JsonObject
            {
                ["name"] = r.Plural,
                ["singularName"] = r.Singular,
                ["namespaced"] = r.Namespaced,
                ["kind"] = r.Kind,
                ["verbs"] = new JsonArray("create", "delete", "get", "list", "patch", "update", "watch"),
                ["shortNames"] = new JsonArray([.. r.ShortNames.Select(s => (JsonNode)s)]),
            });
            if (r.HasStatus)
            {
                resources.Add(new JsonObject
                {
                    ["name"] = r.Plural + "/status",
                    ["singularName"] = "",
                    ["namespaced"] = r.Namespaced,
                    ["kind"] = r.Kind,
                    ["verbs"] = new JsonArray("get", "patch", "update"),
                });
            }
        }

        return resources.Count == 0
            ? null
            : new JsonObject { ["kind"] = "APIResourceList", ["apiVersion"] = "v1", ["groupVersion"] = groupVersion, ["resources"] = resources };
    }

    /// <summary>The OpenAPI v3 index: one entry per group version.</summary>
    public static JsonObject OpenApiIndex()
    {
        var paths = new JsonObject();
        foreach (var gv in All.Select(r => r.GroupVersion).Distinct())
        {
            var key = gv == "v1" ? "api/v1" : "apis/" + gv;
            paths[key] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{key}?hash=0" };
        }

        return new JsonObject { ["paths"] = paths };
    }

    /// <summary>
    /// A minimal OpenAPI v3 document for a group version: just enough for kubectl to see that the
    /// PATCH operation of each kind accepts <c>fieldValidation</c> (server-side validation), so it
    /// does not need the schemas for client-side validation.
    /// </summary>
    public static JsonObject? OpenApiDocument(string groupVersion)
    {
        var paths = new JsonObject();
        foreach (var r in All.Where(r => r.GroupVersion == groupVersion))
        {
            var prefix = r.Group.Length == 0 ? "/api/v1" : $"/apis/{r.GroupVersion}";
            var path = r.Namespaced ? $"{prefix}/namespaces/{{namespace}}/{r.Plural}/{{name}}" : $"{prefix}/{r.Plural}/{{name}}";
            paths[path] = new JsonObject
            {
                ["patch"] = new JsonObject
                {
                    ["parameters"] = new JsonArray(new JsonObject { ["name"] = "fieldValidation", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } }),
                    ["operationId"] = "patch" + r.Kind,
                    ["x-kubernetes-action"] = "patch",
                    ["x-kubernetes-group-version-kind"] = new JsonObject { ["group"] = r.Group, ["version"] = r.Version, ["kind"] = r.Kind },
                    ["responses"] = new JsonObject(),
                },
            };
        }

        return paths.Count == 0
            ? null
            : new JsonObject { ["openapi"] = "3.0.0", ["info"] = new JsonObject { ["title"] = "Kubernetes", ["version"] = "v1.32.0-fake" }, ["paths"] = paths };
    }
}
