using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AuditGateway.Routing;

/// <summary>Finishes a table: its content-hash revision and its compiled matcher.</summary>
internal static class RouteTableBuilder
{
    public static RouteTable Seal(RouteTable table)
    {
        var content = JsonSerializer.SerializeToUtf8Bytes(table with { Revision = "" }, RoutingJsonContext.Default.RouteTable);
        var revision = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content))[..16];
        return table with
        {
            Revision = revision,
            Matcher = new RouteMatcher(table.Routes, table.DefaultBackend),
        };
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RouteTable))]
internal sealed partial class RoutingJsonContext : JsonSerializerContext;
