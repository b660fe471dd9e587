using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// Issue 3, item 7: every manifest edit becomes a <c>config</c> entry saying which file (and its
/// content hash), who (the OS user, learned from the file), the exact JSON Patch of the object,
/// what it did to the route table, and the revisions before and after as <c>/api/routes</c>
/// showed them.
/// </summary>
public sealed class AuditConfigTests
{
    private const string V1 = "default/app:app.test/v1:Prefix";
    private const string V2 = "default/app:app.test/v2:Prefix";

    [Fact]
    public async Task A_path_edit_is_one_config_entry_with_file_actor_exact_patch_effect_and_revisions()
    {
        await using var gateway = await StartAsync();
        var before = await RevisionAsync(gateway);

        gateway.WriteManifest("app.yaml", AppIngress("/v2"));
        await gateway.WaitForAsync(t => t.Routes.Any(r => r.Id == V2));
        var after = await RevisionAsync(gateway);
        Assert.NotEqual(before, after);

        var config = ConfigEntriesTo(gateway, after);
        var body = Assert.Single(config).Body();
        Assert.Equal(before, body.GetProperty("revisionBefore").GetString());
        Assert.Equal(after, body.GetProperty("revisionAfter").GetString());
        Assert.Equal("update", body.GetProperty("operation").GetString());
        AssertObject(body, "Ingress", "app");
        AssertFromFile(gateway, body, "app.yaml");
        AssertPatch(body, """[{"op":"replace","path":"/spec/rules/0/http/paths/0/path","value":"/v2"}]""");
        AssertEffect(body, added: [V2], removed: [V1], changed: []);
        Assert.Empty(body.GetProperty("errors").EnumerateArray());
    }

    [Fact]
    public async Task Annotation_edits_are_patched_member_by_member_with_escaped_paths()
    {
        await using var gateway = await StartAsync();

        // No annotations before: the whole annotations object is added.
        gateway.WriteManifest("app.yaml", AppIngress("/v1", new Dictionary<string, string> { ["auditgateway.io/redact-query"] = "session" }));
        await gateway.WaitForAsync(t => t.Routes.Single().Policy?.RedactQuery?.Contains("session") == true);
        var first = Assert.Single(ConfigEntriesTo(gateway, await RevisionAsync(gateway))).Body();
        AssertPatch(first, """[{"op":"add","path":"/metadata/annotations","value":{"auditgateway.io/redact-query":"session"}}]""");
        AssertEffect(first, added: [], removed: [], changed: [V1]);

        // One annotation's value changes: a replace at its own path, '/' in the key written '~1'.
        gateway.WriteManifest("app.yaml", AppIngress("/v1", new Dictionary<string, string> { ["auditgateway.io/redact-query"] = "session,ticket" }));
        await gateway.WaitForAsync(t => t.Routes.Single().Policy?.RedactQuery?.Contains("ticket") == true);
        var second = Assert.Single(ConfigEntriesTo(gateway, await RevisionAsync(gateway))).Body();
        AssertPatch(second, """[{"op":"replace","path":"/metadata/annotations/auditgateway.io~1redact-query","value":"session,ticket"}]""");
        AssertEffect(second, added: [], removed: [], changed: [V1]);
        AssertFromFile(gateway, second, "app.yaml");
    }

    [Fact]
    public async Task Creating_and_deleting_an_object_are_create_and_delete_entries()
    {
        await using var gateway = await StartAsync();
        const string Route = "default/new:new.test/:Prefix";

        gateway.WriteManifest("new.yaml", Manifests.Ingress("new", [new HostRule("new.test", new PathRule("/", "Prefix", "two", 80))]));
        await gateway.WaitForRouteAsync(Route);
        var created = Assert.Single(ConfigEntriesTo(gateway, await RevisionAsync(gateway))).Body();
        Assert.Equal("create", created.GetProperty("operation").GetString());
        AssertObject(created, "Ingress", "new");
        AssertFromFile(gateway, created, "new.yaml");
        AssertEffect(created, added: [Route], removed: [], changed: []);
        var patch = Assert.Single(created.GetProperty("diff").EnumerateArray());
        Assert.Equal("add", patch.GetProperty("op").GetString());
        Assert.Equal("", patch.GetProperty("path").GetString());
        Assert.Equal("/", patch.GetProperty("value").GetProperty("spec").GetProperty("rules")[0].GetProperty("http").GetProperty("paths")[0].GetProperty("path").GetString());

        var createdFile = created.GetProperty("file");
        var mark = gateway.AuditEntries()[^1].Seq();
        gateway.DeleteManifest("new.yaml");
        await gateway.WaitForAsync(t => t.Routes.All(r => r.Id != Route));
        // The table is back to the start-up one, so its revision too: only entries after the mark count.
        var deleted = Assert.Single(ConfigEntriesTo(gateway, await RevisionAsync(gateway), after: mark)).Body();
        Assert.Equal("delete", deleted.GetProperty("operation").GetString());
        AssertObject(deleted, "Ingress", "new");
        AssertEffect(deleted, added: [], removed: [Route], changed: []);
        // The file is gone: the entry names the file (and content) the object came from.
        Assert.Equal(createdFile.GetRawText(), deleted.GetProperty("file").GetRawText());
        Assert.Equal("""[{"op":"remove","path":""}]""", deleted.GetProperty("diff").GetRawText());
    }

    [Fact]
    public async Task A_refused_Ingress_gets_a_config_entry_with_its_validation_errors()
    {
        await using var gateway = await StartAsync();
        var before = await RevisionAsync(gateway);

        gateway.WriteManifest("bad.yaml", Manifests.Ingress("bad", [new HostRule("bad.test", new PathRule("/", "Prefx", "two", 80))]));
        await gateway.WaitForAsync(t => t.Ingresses.Any(r => r.Ingress == "default/bad"));
        var after = await RevisionAsync(gateway);

        var body = Assert.Single(ConfigEntriesTo(gateway, after)).Body();
        Assert.Equal(before, body.GetProperty("revisionBefore").GetString());
        Assert.Equal("create", body.GetProperty("operation").GetString());
        AssertObject(body, "Ingress", "bad");
        AssertFromFile(gateway, body, "bad.yaml");
        AssertEffect(body, added: [], removed: [], changed: []);
        var error = Assert.Single(body.GetProperty("errors").EnumerateArray()).GetString()!;
        Assert.Contains("spec.rules[0].http.paths[0].pathType", error, StringComparison.Ordinal);
        Assert.Equal(error, Assert.Single(gateway.ReportOf("default/bad").Errors).ToString());
    }

    [Fact]
    public async Task A_Service_edit_names_the_routes_it_changed()
    {
        await using var gateway = await StartAsync();

        gateway.WriteManifest("services.yaml", Manifests.Documents(gateway.ServiceFor("one", ready: false), gateway.ServiceFor("two")));
        await gateway.WaitForAsync(t => t.Routes.Single().Backend.Destinations.Count == 0);

        var body = Assert.Single(ConfigEntriesTo(gateway, await RevisionAsync(gateway))).Body();
        AssertObject(body, "EndpointSlice", "one-1");
        AssertFromFile(gateway, body, "services.yaml");
        AssertPatch(body, """[{"op":"replace","path":"/endpoints/0/conditions/ready","value":false}]""");
        AssertEffect(body, added: [], removed: [], changed: [V1]);
    }

    internal static Task<TestGateway> StartAsync(Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? configure = null) =>
        TestGateway.StartAsync(["one", "two"], g =>
        {
            g.WriteManifest("services.yaml", Manifests.Documents(g.ServiceFor("one"), g.ServiceFor("two")));
            g.WriteManifest("app.yaml", AppIngress("/v1"));
        }, configure);

    internal static string AppIngress(string path, IReadOnlyDictionary<string, string>? annotations = null) =>
        Manifests.Ingress("app", [new HostRule("app.test", new PathRule(path, "Prefix", "one", 80))], annotations: annotations);

    /// <summary>The revision <c>/api/routes</c> reports.</summary>
    internal static async Task<string> RevisionAsync(TestGateway gateway) =>
        (string)(await gateway.GetAdminJsonAsync("/api/routes"))["revision"]!;

    /// <summary>The config entries whose change produced <paramref name="revision"/> (written before it took effect, so already on disk).</summary>
    internal static List<JsonElement> ConfigEntriesTo(TestGateway gateway, string revision, long after = -1) =>
        [.. gateway.AuditEntries().Where(e => e.Seq() > after && e.Kind() == "config" && e.Body().GetProperty("revisionAfter").GetString() == revision)];

    private static void AssertObject(JsonElement body, string kind, string name)
    {
        var reference = body.GetProperty("object");
        Assert.Equal(kind, reference.GetProperty("kind").GetString());
        Assert.Equal(Manifests.Namespace, reference.GetProperty("namespace").GetString());
        Assert.Equal(name, reference.GetProperty("name").GetString());
    }

    /// <summary>The actor is the OS user, learned from the file; the file is named with the SHA-256 of its content as the gateway read it.</summary>
    private static void AssertFromFile(TestGateway gateway, JsonElement body, string file)
    {
        var actor = body.GetProperty("actor");
        Assert.Equal(Environment.UserName, actor.GetProperty("username").GetString());
        Assert.Equal("file", actor.GetProperty("via").GetString());
        Assert.Equal("file", body.GetProperty("source").GetString());
        var path = Path.Combine(gateway.ManifestDirectory, file);
        Assert.Equal(path, body.GetProperty("file").GetProperty("path").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), body.GetProperty("file").GetProperty("sha256").GetString());
    }

    private static void AssertPatch(JsonElement body, string expected) =>
        Assert.True(
            JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(body.GetProperty("diff").GetRawText())),
            $"expected diff {expected}, logged {body.GetProperty("diff").GetRawText()}");

    private static void AssertEffect(JsonElement body, string[] added, string[] removed, string[] changed)
    {
        var effect = body.GetProperty("effect");
        Assert.Equal(added, effect.GetProperty("added").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal(removed, effect.GetProperty("removed").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal(changed, effect.GetProperty("changed").EnumerateArray().Select(e => e.GetString()!));
    }
}
