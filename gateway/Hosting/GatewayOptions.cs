using System.Globalization;
using System.Net;

namespace AuditGateway.Hosting;

/// <summary>The options of <c>auditgw run</c> (PRODUCT.md §2), after CLI, environment and config file.</summary>
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

    /// <summary>The configuration file's contents (empty without <c>--config</c>).</summary>
    public ConfigFile File { get; init; } = new();

    /// <summary>This node's name in the log and its checkpoints (<c>AUDITGW_NODE</c>, else the host name).</summary>
    public string Node { get; init; } = NodeName(Environment.GetEnvironmentVariable("AUDITGW_NODE") ?? Environment.MachineName);

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

/// <summary>A bad option value; the message names the option, the value and what is expected.</summary>
internal sealed class OptionException(string message) : Exception(message);
