using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AuditGateway.Routing;

/// <summary>
/// Content hashes for the table's revision. Each route, TLS binding and Ingress report is hashed once
/// when it is made (SHA-256 of its JSON); the revision is the SHA-256 of those hashes in table order
/// (routes, default backend, TLS bindings by host, reports by Ingress), so it depends on the table's
/// content alone — the same table has the same revision whatever changes led to it — while a change
/// hashes only what it made anew.
/// </summary>
internal static class RouteTableBuilder
{
    public static byte[] HashOf(IngressRoute route) =>
        SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(route, RoutingJsonContext.Default.IngressRoute));

    public static byte[] HashOf(IngressReport report) =>
        SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(report, RoutingJsonContext.Default.IngressReport));

    public static byte[] HashOf(TlsBinding binding) =>
        SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(binding, RoutingJsonContext.Default.TlsBinding));

    /// <summary><c>sha256:</c> and 16 hex digits of the hash of the parts' hashes, each part a section in order.</summary>
    public static string Revision(IEnumerable<byte[]> routes, byte[]? defaultBackend, IEnumerable<byte[]> tls, IEnumerable<byte[]> reports)
    {
        // One buffer, hashed at once: an incremental hash would cross into the crypto library once per part.
        var content = new ArrayBufferWriter<byte>(64 * 1024);
        Section(content, "routes", routes);
        Section(content, "default-backend", defaultBackend is null ? [] : [defaultBackend]);
        Section(content, "tls", tls);
        Section(content, "ingresses", reports);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content.WrittenSpan))[..16];
    }

    private static void Section(ArrayBufferWriter<byte> content, string name, IEnumerable<byte[]> parts)
    {
        content.Write(Encoding.ASCII.GetBytes(name + "\n"));
        foreach (var part in parts)
        {
            content.Write(part);
        }
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RouteTable))]
internal sealed partial class RoutingJsonContext : JsonSerializerContext;
