using System.Text.Json;
using AuditGateway.Admin;
using AuditGateway.ControlPlane.Sources;
using AuditGateway.Kubernetes.Models;
using AuditGateway.Routing;

namespace AuditGateway.Tests.Routing;

/// <summary>
/// The translator against golden files: <c>testassets/&lt;scenario&gt;/input.yaml</c> (and, when
/// present, <c>before.yaml</c>, translated first so its accepted Ingresses are the "last good"
/// versions) must give exactly <c>routes.json</c>. Set <c>UPDATE_GOLDEN=1</c> to rewrite them.
/// </summary>
public sealed class TranslatorGoldenTests
{
    private static readonly string Assets = Path.Combine(AppContext.BaseDirectory, "testassets");

    public static TheoryData<string> Scenarios()
    {
        var data = new TheoryData<string>();
        foreach (var directory in Directory.GetDirectories(Assets).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(directory));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Translation_matches_golden_file(string scenario)
    {
        var directory = Path.Combine(Assets, scenario);
        var actual = Render(Translate(directory));
        var golden = Path.Combine(directory, "routes.json");
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            var source = Path.Combine(SourceDirectory(), "testassets", scenario, "routes.json");
            File.WriteAllText(source, actual);
            return;
        }

        Assert.True(File.Exists(golden), $"{golden} is missing; run with UPDATE_GOLDEN=1 to create it");
        Assert.Equal(File.ReadAllText(golden), actual);
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Translation_is_deterministic_whatever_the_input_order(string scenario)
    {
        var directory = Path.Combine(Assets, scenario);
        var first = Translate(directory);
        var reversed = Translate(directory, reverse: true);
        Assert.Equal(Render(first), Render(reversed));
        Assert.Equal(first.Table.Revision, reversed.Table.Revision);
    }

    internal static TranslationResult Translate(string directory, bool reverse = false)
    {
        var accepted = new Dictionary<ObjectKey, AuditGateway.Kubernetes.Models.Ingress>();
        var before = Path.Combine(directory, "before.yaml");
        if (File.Exists(before))
        {
            accepted = new(IngressTranslator.Translate(new TranslationInput { Objects = Load(before, reverse) }).Accepted);
        }

        return IngressTranslator.Translate(new TranslationInput
        {
            Objects = Load(Path.Combine(directory, "input.yaml"), reverse),
            LastAccepted = accepted,
        });
    }

    private static Dictionary<ObjectKey, KubeResource> Load(string path, bool reverse)
    {
        var bytes = File.ReadAllBytes(path);
        var resources = ManifestParser.Parse(path, bytes, new ObjectOrigin(Path.GetFileName(path), "test"));
        if (reverse)
        {
            resources.Reverse();
        }

        return resources.ToDictionary(r => r.Key);
    }

    private static string Render(TranslationResult result) =>
        JsonSerializer.Serialize(result.Table, AdminJsonContext.Readable.RouteTable).ReplaceLineEndings("\n") + "\n";

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") =>
        Path.GetDirectoryName(Path.GetDirectoryName(path))!;
}
