using System.Text.Json.Serialization;
using AuditGateway.Policy;

namespace AuditGateway.Routing;

/// <summary>
/// The route table in force: every route of every accepted Ingress, the default backend,
/// the TLS bindings and a report per Ingress. Immutable; swapped as a whole.
/// </summary>
internal sealed record RouteTable
{
    public static readonly RouteTable Empty = new() { Revision = RouteTableBuilder.Revision([], null, [], []) };

    /// <summary>Content hash of everything below (<c>sha256:</c> + 16 hex digits).</summary>
    public string Revision { get; init; } = "";

    public IReadOnlyList<IngressRoute> Routes { get; init; } = [];

    public IngressRoute? DefaultBackend { get; init; }

    public IReadOnlyList<TlsBinding> Tls { get; init; } = [];

    public IReadOnlyList<IngressReport> Ingresses { get; init; } = [];

    [JsonIgnore]
    public RouteMatcher Matcher { get; init; } = RouteMatcher.Empty;

    /// <summary>The report of the Ingress <c>namespace/name</c>, if it is ours (<see cref="Ingresses"/> is ordered by name).</summary>
    public IngressReport? Report(string ingress)
    {
        var (low, high) = (0, Ingresses.Count - 1);
        while (low <= high)
        {
            var middle = low + ((high - low) / 2);
            var order = string.CompareOrdinal(Ingresses[middle].Ingress, ingress);
            if (order == 0)
            {
                return Ingresses[middle];
            }

            (low, high) = order < 0 ? (middle + 1, high) : (low, middle - 1);
        }

        return null;
    }
}

/// <summary>One path of one Ingress rule, resolved to its backend.</summary>
internal sealed record IngressRoute : IPolicyTarget
{
    /// <summary><c>namespace/ingress:host/path:PathType</c>; <c>namespace/ingress:default-backend</c>.</summary>
    public required string Id { get; init; }

    /// <summary>Lower-case host, <c>*.suffix</c>, or null for every host.</summary>
    public string? Host { get; init; }

    public string? Path { get; init; }

    public string? PathType { get; init; }

    public required string Namespace { get; init; }

    public required string Ingress { get; init; }

    public required RouteBackend Backend { get; init; }

    /// <summary>HTTP requests get a 308 to HTTPS.</summary>
    public bool SslRedirect { get; init; }

    public RoutePolicy? Policy { get; init; }
}

/// <summary>Where a route sends its traffic.</summary>
internal sealed record RouteBackend
{
    public required string Service { get; init; }

    /// <summary>The port as the Ingress named it: a number or a port name.</summary>
    public required string Port { get; init; }

    public BackendProtocol Protocol { get; init; } = BackendProtocol.Http;

    /// <summary><c>host:port</c> of every ready endpoint (or the ExternalName).</summary>
    public IReadOnlyList<string> Destinations { get; init; } = [];

    /// <summary>Why there is no destination; the gateway answers 503 with it.</summary>
    public string? Unavailable { get; init; }

    /// <summary><c>scheme://host:port</c> of each destination, for the forwarder.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> DestinationPrefixes { get; init; } = [];
}

/// <summary>How the gateway talks to a backend (<c>backend-protocol</c> annotation, or a port named or with appProtocol <c>https</c>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BackendProtocol>))]
internal enum BackendProtocol
{
    [JsonStringEnumMemberName("http")] Http,
    [JsonStringEnumMemberName("https")] Https,

    /// <summary>gRPC: HTTP/2 with prior knowledge over cleartext (h2c).</summary>
    [JsonStringEnumMemberName("grpc")] Grpc,

    /// <summary>gRPC over TLS: HTTP/2 negotiated by ALPN.</summary>
    [JsonStringEnumMemberName("grpcs")] Grpcs,

    /// <summary>Any HTTP/2 backend over cleartext, with prior knowledge.</summary>
    [JsonStringEnumMemberName("h2c")] H2c,
}

/// <summary>A certificate for a host (exact or <c>*.suffix</c>) taken from a TLS Secret.</summary>
internal sealed record TlsBinding
{
    public required string Host { get; init; }

    public required string Secret { get; init; }

    /// <summary>SHA-256 of the certificate and key PEM, so a rotation changes the revision.</summary>
    public required string ContentHash { get; init; }

    [JsonIgnore]
    public string CertificatePem { get; init; } = "";

    [JsonIgnore]
    public string KeyPem { get; init; } = "";
}

/// <summary>What happened to one Ingress during translation.</summary>
internal sealed record IngressReport
{
    /// <summary><c>namespace/name</c>.</summary>
    public required string Ingress { get; init; }

    /// <summary>Ingresses of other classes are not reported.</summary>
    public required IngressOutcome Status { get; init; }

    public IReadOnlyList<ValidationError> Errors { get; init; } = [];

    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>Whether an Ingress is served, and which version of it.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<IngressOutcome>))]
internal enum IngressOutcome
{
    /// <summary>The Ingress as it is now serves.</summary>
    [JsonStringEnumMemberName("accepted")] Accepted,

    /// <summary>Invalid, and no earlier version was valid: nothing of it serves.</summary>
    [JsonStringEnumMemberName("refused")] Refused,

    /// <summary>Invalid; its last valid version keeps serving.</summary>
    [JsonStringEnumMemberName("refused-serving-previous")] RefusedServingPrevious,
}

/// <summary>A validation failure naming the field it concerns.</summary>
internal sealed record ValidationError(string Field, string Message)
{
    public override string ToString() => $"{Field}: {Message}";
}
