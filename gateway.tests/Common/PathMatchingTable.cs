using System.Text.Json.Nodes;

namespace AuditGateway.Tests.Common;

/// <summary>
/// The path-matching table of the Kubernetes Ingress documentation
/// (<c>fixtures/ingress-path-matching.json</c>): its
/// <c>flattened</c> entries, one per (row, request path), and its <c>hostWildcardTable</c>.
/// </summary>
internal static class PathMatchingTable
{
    private static readonly Lazy<JsonNode> Document = new(() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.Directory, "ingress-path-matching.json")))!);

    public static IReadOnlyList<PathCase> Flattened =>
    [
        .. Document.Value["flattened"]!.AsArray().Select(e => new PathCase(
            e!["sourceRow"]!.GetValue<int>(),
            [.. e["paths"]!.AsArray().Select(p => (p!["path"]!.GetValue<string>(), p["pathType"]!.GetValue<string>()))],
            e["request"]!.GetValue<string>(),
            e["matches"]!.GetValue<bool>(),
            e["matchedPath"]?.GetValue<string>(),
            e["matchedPathType"]?.GetValue<string>(),
            e["fallsBackToDefaultBackend"]?.GetValue<bool>() ?? false)),
    ];

    public static IReadOnlyList<(string Host, string HostHeader, bool Matches)> HostWildcards =>
    [
        .. Document.Value["hostWildcardTable"]!.AsArray().Select(e => (
            e!["host"]!.GetValue<string>(),
            e["hostHeader"]!.GetValue<string>(),
            e["matches"]!.GetValue<bool>())),
    ];
}

/// <summary>One flattened entry: an Ingress's paths, one request path and the documented outcome.</summary>
internal sealed record PathCase(
    int Row,
    IReadOnlyList<(string Path, string PathType)> Paths,
    string Request,
    bool Matches,
    string? MatchedPath,
    string? MatchedPathType,
    bool FallsBackToDefaultBackend)
{
    /// <summary>The literal request of row 1: any path matches.</summary>
    public const string AllPaths = "(all paths)";

    /// <summary>The index of the path that must serve the request.</summary>
    public int WinnerIndex()
    {
        for (var i = 0; i < Paths.Count; i++)
        {
            if (Paths[i].Path == MatchedPath && (MatchedPathType is null || Paths[i].PathType == MatchedPathType))
            {
                return i;
            }
        }

        throw new InvalidOperationException($"row {Row}: matched path {MatchedPath} is none of its paths");
    }
}
