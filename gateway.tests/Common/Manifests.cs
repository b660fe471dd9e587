using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AuditGateway.Tests.Common;

/// <summary>A service port as an Ingress names it: a number or a port name.</summary>
internal readonly record struct PortRef(int? Number, string? Name)
{
    public static implicit operator PortRef(int number) => FromInt32(number);

    public static implicit operator PortRef(string name) => FromString(name);

    public static PortRef FromInt32(int number) => new(number, null);

    public static PortRef FromString(string name) => new(null, name);
}

/// <summary>One path of an Ingress rule.</summary>
internal sealed record PathRule(string Path, string PathType, string Service, PortRef Port);

/// <summary>One Ingress rule: a host (null for every host) and its paths.</summary>
internal sealed record HostRule(string? Host, params PathRule[] Paths);

/// <summary>One <c>spec.tls</c> entry.</summary>
internal sealed record TlsEntry(string SecretName, params string[] Hosts);

/// <summary>A Service port and the loopback port its endpoints listen on.</summary>
internal sealed record ServicePort(string Name, int Port, int BackendPort);

/// <summary>
/// Kubernetes manifests for the embedded gateway's manifest directory. Each builder returns
/// one or more documents (JSON, which is YAML); join them with <see cref="Documents"/>.
/// </summary>
internal static class Manifests
{
    public const string Namespace = "default";

    /// <summary>The creationTimestamp of an Ingress unless a test says otherwise.</summary>
    public static readonly DateTimeOffset Created = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static string Documents(params string[] documents) => string.Join("\n---\n", documents) + "\n";

    /// <summary>A Service with one port and an EndpointSlice with one ready (or not) endpoint on 127.0.0.1.</summary>
    public static string Backend(string service, int backendPort, int port = 80, string portName = "http", bool ready = true) =>
        Service(service, [new ServicePort(portName, port, backendPort)], ready);

    /// <summary>A ClusterIP Service and an EndpointSlice at 127.0.0.1 carrying every port by name.</summary>
    public static string Service(string name, IReadOnlyList<ServicePort> ports, bool ready = true)
    {
        var service = Object("v1", "Service", name);
        service["spec"] = new JsonObject
        {
            ["selector"] = new JsonObject { ["app"] = name },
            ["ports"] = new JsonArray([.. ports.Select(p => (JsonNode)new JsonObject
            {
                ["name"] = p.Name,
                ["port"] = p.Port,
                ["targetPort"] = p.BackendPort,
            })]),
        };

        var slice = Object("discovery.k8s.io/v1", "EndpointSlice", name + "-1");
        slice["metadata"]!["labels"] = new JsonObject { ["kubernetes.io/service-name"] = name };
        slice["addressType"] = "IPv4";
        slice["ports"] = new JsonArray([.. ports.Select(p => (JsonNode)new JsonObject { ["name"] = p.Name, ["port"] = p.BackendPort })]);
        slice["endpoints"] = new JsonArray(new JsonObject
        {
            ["addresses"] = new JsonArray("127.0.0.1"),
            ["conditions"] = new JsonObject { ["ready"] = ready },
        });
        return Documents(Text(service), Text(slice));
    }

    /// <summary>
    /// A Service with one port (<c>http</c>, 80) whose endpoints are 127.0.0.1 at each of
    /// <paramref name="endpointPorts"/>: one ready EndpointSlice per endpoint, as the slices of a
    /// Service whose pods listen on different ports.
    /// </summary>
    public static string Pool(string name, params int[] endpointPorts)
    {
        var service = Object("v1", "Service", name);
        service["spec"] = new JsonObject
        {
            ["selector"] = new JsonObject { ["app"] = name },
            ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["port"] = 80 }),
        };
        var slices = endpointPorts.Select((port, i) =>
        {
            var slice = Object("discovery.k8s.io/v1", "EndpointSlice", $"{name}-{i + 1}");
            slice["metadata"]!["labels"] = new JsonObject { ["kubernetes.io/service-name"] = name };
            slice["addressType"] = "IPv4";
            slice["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["port"] = port });
            slice["endpoints"] = new JsonArray(new JsonObject
            {
                ["addresses"] = new JsonArray("127.0.0.1"),
                ["conditions"] = new JsonObject { ["ready"] = true },
            });
            return Text(slice);
        });
        return Documents([Text(service), .. slices]);
    }

    /// <summary>An ExternalName Service (no EndpointSlice) with one numbered port.</summary>
    public static string ExternalName(string name, string externalName, int port)
    {
        var service = Object("v1", "Service", name);
        service["spec"] = new JsonObject
        {
            ["type"] = "ExternalName",
            ["externalName"] = externalName,
            ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["port"] = port }),
        };
        return Documents(Text(service));
    }

    /// <summary>A <c>kubernetes.io/tls</c> Secret holding the certificate and its private key.</summary>
    public static string TlsSecret(string name, X509Certificate2 certificate)
    {
        var key = certificate.GetECDsaPrivateKey() ?? throw new ArgumentException("an ECDSA certificate with its key is expected", nameof(certificate));
        var secret = Object("v1", "Secret", name);
        secret["type"] = "kubernetes.io/tls";
        secret["data"] = new JsonObject
        {
            ["tls.crt"] = Base64(certificate.ExportCertificatePem()),
            ["tls.key"] = Base64(key.ExportPkcs8PrivateKeyPem()),
        };
        return Documents(Text(secret));
    }

    public static string Ingress(
        string name,
        IReadOnlyList<HostRule>? rules = null,
        DateTimeOffset? created = null,
        IReadOnlyDictionary<string, string>? annotations = null,
        (string Service, PortRef Port)? defaultBackend = null,
        IReadOnlyList<TlsEntry>? tls = null)
    {
        var ingress = Object("networking.k8s.io/v1", "Ingress", name);
        var metadata = ingress["metadata"]!.AsObject();
        metadata["creationTimestamp"] = (created ?? Created).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        if (annotations is not null)
        {
            metadata["annotations"] = new JsonObject([.. annotations.Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value))]);
        }

        var spec = new JsonObject { ["ingressClassName"] = "auditgateway" };
        if (defaultBackend is { } fallback)
        {
            spec["defaultBackend"] = BackendRef(fallback.Service, fallback.Port);
        }

        if (tls is not null)
        {
            spec["tls"] = new JsonArray([.. tls.Select(t => (JsonNode)new JsonObject
            {
                ["hosts"] = new JsonArray([.. t.Hosts.Select(h => (JsonNode)h)]),
                ["secretName"] = t.SecretName,
            })]);
        }

        if (rules is not null)
        {
            spec["rules"] = new JsonArray([.. rules.Select(Rule)]);
        }

        ingress["spec"] = spec;
        return Documents(Text(ingress));
    }

    private static JsonNode Rule(HostRule rule)
    {
        var node = new JsonObject();
        if (rule.Host is not null)
        {
            node["host"] = rule.Host;
        }

        node["http"] = new JsonObject
        {
            ["paths"] = new JsonArray([.. rule.Paths.Select(p => (JsonNode)new JsonObject
            {
                ["path"] = p.Path,
                ["pathType"] = p.PathType,
                ["backend"] = BackendRef(p.Service, p.Port),
            })]),
        };
        return node;
    }

    private static JsonObject BackendRef(string service, PortRef port) => new()
    {
        ["service"] = new JsonObject
        {
            ["name"] = service,
            ["port"] = port.Number is { } number ? new JsonObject { ["number"] = number } : new JsonObject { ["name"] = port.Name },
        },
    };

    private static JsonObject Object(string apiVersion, string kind, string name) => new()
    {
        ["apiVersion"] = apiVersion,
        ["kind"] = kind,
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = Namespace },
    };

    private static string Text(JsonObject document) => document.ToJsonString(Indented);

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}
