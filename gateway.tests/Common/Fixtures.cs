using System.Text.Json;

namespace AuditGateway.Tests.Common;

/// <summary>The external test material in <c>../shared/fixtures</c>, found from the test assembly upwards.</summary>
internal static class Fixtures
{
    public static string Directory { get; } = Find();

    public static JsonDocument Load(string relativePath) =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Directory, relativePath)));

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "fixtures");
            if (System.IO.Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("shared/fixtures not found above " + AppContext.BaseDirectory);
    }
}
