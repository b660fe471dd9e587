using System.Text.Json;

namespace AuditGateway.Tests.Common;

/// <summary>
/// External test material copied into <c>gateway.tests/fixtures</c> (RFC 6962 and signed-note vectors, real
/// apiserver audit events, the Ingress documentation's path-matching table; each file or
/// <c>fixtures/README.md</c> names its source), as copied beside the test assembly.
/// </summary>
internal static class Fixtures
{
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "fixtures");

    public static JsonDocument Load(string relativePath) =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Directory, relativePath)));

    public static byte[] Hex(JsonElement element) => Convert.FromHexString(element.GetString()!);

    public static List<byte[]> HexList(JsonElement element) =>
        element.ValueKind == JsonValueKind.Array ? [.. element.EnumerateArray().Select(Hex)] : [];
}
