using System.Globalization;
using System.Net;
using AuditGateway.Configuration;

namespace AuditGateway.Hosting;

/// <summary>The options of <c>auditgw run</c> (docs/configuration.md), after CLI, environment and config file.</summary>
internal sealed record GatewayOptions
{
    public string? Manifests { get; init; }

    public string? Kubeconfig { get; init; }

    public string Data { get; init; } = "./auditgw-data";

    public IPEndPoint Http { get; init; } = new(IPAddress.Loopback, 8080);

    public IPEndPoint Https { get; init; } = new(IPAddress.Loopback, 8443);

    public IPEndPoint Admin { get; init; } = new(IPAddress.Loopback, 9090);

    public string? Config { get; init; }

    public string IngressClass { get; init; } = "auditgateway";

    public string ControllerName { get; init; } = "auditgateway.io/ingress-controller";

    public bool WatchIngressWithoutClass { get; init; }

    /// <summary>Cluster mode: Ingress status from this Service's addresses (<c>NS/NAME</c>).</summary>
    public string? PublishService { get; init; }

    /// <summary>Cluster mode: Ingress status is this IP address or host name.</summary>
    public string? PublishAddress { get; init; }

    /// <summary>Cluster mode: the Lease used for leader election.</summary>
    public string ElectionId { get; init; } = "auditgateway-leader";

    /// <summary>Cluster mode: the namespace of the Lease and Events (default: the pod's, else the kubeconfig context's).</summary>
    public string? Namespace { get; init; }

    /// <summary>Leader election timings (tests shorten them; not a command-line option).</summary>
    public ElectionTimings Election { get; init; } = new();

    /// <summary>The configuration file's contents (empty without <c>--config</c>).</summary>
    public ConfigFile File { get; init; } = new();

    /// <summary>This node's name in the log and its checkpoints (<c>AUDITGW_NODE</c>, else the host name).</summary>
    public string Node { get; init; } = NodeName(Environment.GetEnvironmentVariable("AUDITGW_NODE") ?? Environment.MachineName);

    /// <summary>Why <c>admin.auditWebhookToken</c> is unusable, or null.</summary>
    public string? AuditWebhookTokenProblem() =>
        File.Admin?.AuditWebhookToken is { } hash && (hash.Length != 64 || !hash.All(char.IsAsciiHexDigit))
            ? $"admin.auditWebhookToken '{hash}': expected the hex SHA-256 of the token (64 hex digits)"
            : null;

    private static string NodeName(string name)
    {
        var cleaned = new string([.. name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' ? c : '-')]);
        return cleaned.Length == 0 ? "node" : cleaned;
    }

    /// <summary>Parses <c>HOST:PORT</c>; <c>localhost</c> means the IPv4 loopback.</summary>
    public static IPEndPoint ParseEndpoint(string option, string value)
    {
        var text = value.Trim();
        if (text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase))
        {
            text = "127.0.0.1" + text[9..];
        }

        var colon = text.LastIndexOf(':');
        if (colon > 0
            && IPEndPoint.TryParse(text, out var endpoint)
            && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            && port is >= 0 and <= 65535)
        {
            return endpoint;
        }

        throw new OptionException($"{option} '{value}': expected HOST:PORT with an IP address or localhost, e.g. 127.0.0.1:8080");
    }
}

/// <summary>Lease duration, renew deadline and retry period, as client-go's defaults for controllers.</summary>
internal sealed record ElectionTimings(double LeaseSeconds = 15, double RenewSeconds = 10, double RetrySeconds = 2);
