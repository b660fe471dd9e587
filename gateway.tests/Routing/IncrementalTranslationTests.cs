using System.Text.Json;
using AuditGateway.Admin;
using AuditGateway.ControlPlane.Sources;
using AuditGateway.Kubernetes.Models;
using AuditGateway.Routing;

namespace AuditGateway.Tests.Routing;

/// <summary>
/// The pipeline's model is updated change by change; the golden files are translated from scratch.
/// Every order of the same changes must end in the same table, revision and matcher, and every
/// step's effect must be the diff of the whole tables before and after it.
/// </summary>
public sealed class IncrementalTranslationTests
{
    private static readonly string Assets = Path.Combine(AppContext.BaseDirectory, "testassets");

    public static TheoryData<string> Scenarios() => TranslatorGoldenTests.Scenarios();

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Change_by_change_in_any_order_ends_in_the_table_built_from_scratch(string scenario)
    {
        var directory = Path.Combine(Assets, scenario);
        var expected = TranslatorGoldenTests.Translate(directory).Table;
        var before = Load(Path.Combine(directory, "before.yaml"));
        var input = Load(Path.Combine(directory, "input.yaml"));

        foreach (var reverse in (bool[])[false, true])
        {
            // The earlier version first (its accepted Ingresses become the last good ones), then one change at a time.
            var model = RoutingModel.Empty(new ClassOptions());
            model = ApplyEach(model, Transition([], before), reverse);
            model = ApplyEach(model, Transition(before, input), reverse);
            AssertSame(expected, model.Table);

            // Everything removed one by one, and added back in the other order: a different history, the same table.
            var emptied = ApplyEach(model, Transition(input, []), !reverse);
            Assert.Empty(emptied.Table.Routes);
            Assert.Null(emptied.Table.DefaultBackend);
            if (before.Count == 0)
            {
                AssertSame(expected, ApplyEach(emptied, Transition([], input), !reverse).Table);
            }
        }
    }

    [Fact]
    public void An_edit_that_hands_a_path_to_another_Ingress_resolves_both_and_the_effect_names_both()
    {
        var directory = Path.Combine(Assets, "precedence-and-conflicts");
        var input = Load(Path.Combine(directory, "input.yaml"));
        var model = ApplyEach(RoutingModel.Empty(new ClassOptions()), Transition([], input), reverse: false);
        var older = new ObjectKey(ResourceKind.Ingress, "shop", "team-a");

        var step = model.Apply([new ResourceChange(older, input[older], null)]);

        Assert.Contains("shop/team-a:shop.example.com/cart:Prefix", step.Effect.Removed);
        Assert.Contains("shop/team-b:shop.example.com/cart/:Prefix", step.Effect.Added);
        var report = Assert.Single(step.ChangedReports, r => r.Ingress == "shop/team-b");
        Assert.DoesNotContain(report.Warnings, w => w.Contains("conflict", StringComparison.Ordinal));
        var rest = input.Where(o => o.Key != older).ToDictionary(o => o.Key, o => o.Value);
        AssertSame(IngressTranslator.Translate(new TranslationInput { Objects = rest }).Table, step.Model.Table);
    }

    /// <summary>Applies the changes one per batch, checking each step's effect against the whole tables.</summary>
    private static RoutingModel ApplyEach(RoutingModel model, List<ResourceChange> changes, bool reverse)
    {
        if (reverse)
        {
            changes.Reverse();
        }

        foreach (var change in changes)
        {
            var step = model.Apply([change]);
            var (added, removed, changed) = WholeDiff(model.Table, step.Model.Table);
            Assert.Equal(added, step.Effect.Added);
            Assert.Equal(removed, step.Effect.Removed);
            Assert.Equal(changed, step.Effect.Changed);
            model = step.Model;
        }

        return model;
    }

    private static List<ResourceChange> Transition(Dictionary<ObjectKey, KubeResource> from, Dictionary<ObjectKey, KubeResource> to)
    {
        var changes = new List<ResourceChange>();
        foreach (var (key, resource) in to)
        {
            changes.Add(new ResourceChange(key, from.GetValueOrDefault(key), resource));
        }

        changes.AddRange(from.Where(o => !to.ContainsKey(o.Key)).Select(o => new ResourceChange(o.Key, o.Value, null)));
        return changes;
    }

    private static void AssertSame(RouteTable expected, RouteTable actual)
    {
        Assert.Equal(Render(expected), Render(actual));
        Assert.Equal(expected.Revision, actual.Revision);
        var routes = expected.DefaultBackend is { } fallback ? expected.Routes.Append(fallback) : expected.Routes;
        foreach (var route in routes)
        {
            var host = route.Host switch
            {
                null => "no-rule-for-this.host",
                var h when h.StartsWith("*.", StringComparison.Ordinal) => "x" + h[1..],
                var h => h,
            };
            var path = route.Path ?? "/";
            Assert.Equal(expected.Matcher.Match(host, path)?.Id, actual.Matcher.Match(host, path)?.Id);
            Assert.Equal(expected.Matcher.Match(host, path + "/more")?.Id, actual.Matcher.Match(host, path + "/more")?.Id);
            Assert.Equal(expected.Matcher.MatchIgnoringCase(host, path.ToUpperInvariant())?.Id, actual.Matcher.MatchIgnoringCase(host, path.ToUpperInvariant())?.Id);
        }
    }

    /// <summary>The diff by comparing every route of both tables by id and JSON.</summary>
    private static (List<string> Added, List<string> Removed, List<string> Changed) WholeDiff(RouteTable before, RouteTable after)
    {
        static Dictionary<string, string> Index(RouteTable table) =>
            (table.DefaultBackend is { } f ? table.Routes.Append(f) : table.Routes)
                .ToDictionary(r => r.Id, r => JsonSerializer.Serialize(r, RoutingJsonContext.Default.IngressRoute), StringComparer.Ordinal);
        var old = Index(before);
        var now = Index(after);
        return (
            [.. now.Keys.Where(id => !old.ContainsKey(id)).Order(StringComparer.Ordinal)],
            [.. old.Keys.Where(id => !now.ContainsKey(id)).Order(StringComparer.Ordinal)],
            [.. now.Where(p => old.TryGetValue(p.Key, out var o) && o != p.Value).Select(p => p.Key).Order(StringComparer.Ordinal)]);
    }

    private static Dictionary<ObjectKey, KubeResource> Load(string path) =>
        File.Exists(path)
            ? ManifestParser.Parse(path, File.ReadAllBytes(path), new ObjectOrigin(Path.GetFileName(path), "test")).ToDictionary(r => r.Key)
            : [];

    private static string Render(RouteTable table) => JsonSerializer.Serialize(table, AdminJsonContext.Readable.RouteTable);
}
