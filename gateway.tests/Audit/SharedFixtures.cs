using System.Text.Json;

namespace AuditGateway.Tests.Audit;

/// <summary>Finds the read-only fixtures in <c>shared/fixtures</c>, beside the repository.</summary>
internal static class SharedFixtures
{
    public static JsonDocument Load(string relativePath)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "fixtures", relativePath);
            if (File.Exists(candidate))
            {
                return JsonDocument.Parse(File.ReadAllBytes(candidate));
            }
        }

        throw new FileNotFoundException($"shared/fixtures/{relativePath} not found above {AppContext.BaseDirectory}");
    }

    public static byte[] Hex(JsonElement element) => Convert.FromHexString(element.GetString()!);

    public static List<byte[]> HexList(JsonElement element) =>
        element.ValueKind == JsonValueKind.Array ? [.. element.EnumerateArray().Select(Hex)] : [];
}
