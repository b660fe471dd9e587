using System.Collections.Frozen;
using System.Security.Cryptography;

namespace AuditGateway.Admin.Dashboard;

/// <summary>One file of the dashboard: its bytes, content type and ETag (a hash of the bytes).</summary>
internal sealed record DashboardAsset(string Name, byte[] Content, string ContentType, string ETag);

/// <summary>
/// The dashboard's files (<c>Admin/Dashboard/wwwroot/</c>), embedded in the assembly under
/// <c>dashboard/&lt;file&gt;</c> (gateway.csproj) and read once. Nothing is fetched from elsewhere:
/// the page, its script modules and its style sheet are all here.
/// </summary>
internal static class DashboardAssets
{
    private const string Prefix = "dashboard/";

    private static readonly FrozenDictionary<string, DashboardAsset> Files = Load();

    /// <summary>The page itself (<c>GET /</c>).</summary>
    public static DashboardAsset Page { get; } = Files["index.html"];

    /// <summary>A file under <c>/ui/</c> by name (<c>app.js</c>), or null.</summary>
    public static DashboardAsset? Find(string name) => name != Page.Name && Files.TryGetValue(name, out var asset) ? asset : null;

    private static FrozenDictionary<string, DashboardAsset> Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var files = new Dictionary<string, DashboardAsset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var content = buffer.ToArray();
            var name = resource[Prefix.Length..];
            var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 12)) + "\"";
            files.Add(name, new DashboardAsset(name, content, ContentType(name), etag));
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        var other => throw new InvalidOperationException($"dashboard file {name}: no content type for '{other}'"),
    };
}
