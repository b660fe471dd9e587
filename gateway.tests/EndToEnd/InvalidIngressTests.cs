using AuditGateway.Routing;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// An invalid Ingress is refused on its own, with a reason naming the field, in
/// <c>/api/routes</c> and in the log; every other route keeps serving, and an earlier valid
/// version of the same Ingress keeps serving after an invalid edit.
/// </summary>
public sealed class InvalidIngressTests
{
    [Fact]
    public async Task Invalid_Ingress_is_refused_naming_the_field_while_the_valid_ones_serve()
    {
        await using var gateway = await TestGateway.StartAsync(["good"], g => g.WriteManifest("all.yaml", Manifests.Documents(
            g.ServiceFor("good"),
            Manifests.Ingress("first", [new HostRule("first.test", new PathRule("/", "Prefix", "good", 80))]),
            Manifests.Ingress("bad", [new HostRule("bad.test", new PathRule("/", "Prefx", "good", 80))]),
            Manifests.Ingress("second", [new HostRule("second.test", new PathRule("/", "Prefix", "good", 80))]))));

        Assert.Equal("good", await gateway.ServedByAsync("http://first.test/"));
        Assert.Equal("good", await gateway.ServedByAsync("http://second.test/"));
        Assert.Equal("404", await gateway.ServedByAsync("http://bad.test/"));

        const string Field = "spec.rules[0].http.paths[0].pathType";
        await AssertRefusedAsync(gateway, "default/bad", "refused", Field);
        Assert.Single(gateway.Logs.Containing(LogLevel.Error, "Ingress default/bad refused", Field, "not served"));
    }

    [Fact]
    public async Task Earlier_valid_version_keeps_serving_after_an_invalid_edit()
    {
        await using var gateway = await TestGateway.StartAsync(["v1", "v2"], g =>
        {
            g.WriteManifest("services.yaml", Manifests.Documents(g.ServiceFor("v1"), g.ServiceFor("v2")));
            g.WriteManifest("app.yaml", Manifests.Ingress("app", [new HostRule("app.test", new PathRule("/", "Prefix", "v1", 80))]));
        });
        Assert.Equal("v1", await gateway.ServedByAsync("http://app.test/"));

        gateway.WriteManifest("app.yaml", Manifests.Ingress("app", [new HostRule("app.test", new PathRule("/", "Prefix", "v2", 70000))]));
        await gateway.WaitForAsync(t => t.Ingresses.Any(r => r.Ingress == "default/app" && r.Status == IngressOutcome.RefusedServingPrevious));

        Assert.Equal("v1", await gateway.ServedByAsync("http://app.test/"));
        const string Field = "spec.rules[0].http.paths[0].backend.service.port.number";
        await AssertRefusedAsync(gateway, "default/app", "refused-serving-previous", Field);
        Assert.Single(gateway.Logs.Containing(LogLevel.Error, "Ingress default/app refused", Field, "its previous valid version keeps serving"));

        gateway.WriteManifest("app.yaml", Manifests.Ingress("app", [new HostRule("app.test", new PathRule("/", "Prefix", "v2", 80))]));
        await gateway.WaitForAsync(t => t.Ingresses.Any(r => r.Ingress == "default/app" && r.Status == IngressOutcome.Accepted));
        Assert.Equal("v2", await gateway.ServedByAsync("http://app.test/"));
    }

    [Fact]
    public async Task Unknown_auditgateway_annotation_refuses_the_Ingress_naming_the_annotation()
    {
        await using var gateway = await TestGateway.StartAsync(["good"], g => g.WriteManifest("all.yaml", Manifests.Documents(
            g.ServiceFor("good"),
            Manifests.Ingress("other", [new HostRule("other.test", new PathRule("/", "Prefix", "good", 80))]),
            Manifests.Ingress(
                "typo",
                [new HostRule("typo.test", new PathRule("/", "Prefix", "good", 80))],
                annotations: new Dictionary<string, string> { ["auditgateway.io/rate-limt"] = "5r/s" }))));

        Assert.Equal("404", await gateway.ServedByAsync("http://typo.test/"));
        Assert.Equal("good", await gateway.ServedByAsync("http://other.test/"));
        const string Field = "metadata.annotations[auditgateway.io/rate-limt]";
        var error = await AssertRefusedAsync(gateway, "default/typo", "refused", Field);
        Assert.Contains("unknown annotation", error, StringComparison.Ordinal);
        Assert.Single(gateway.Logs.Containing(LogLevel.Error, "Ingress default/typo refused", Field));
    }

    /// <summary>Checks the Ingress's entry in <c>/api/routes</c>; returns the error message for the field.</summary>
    private static async Task<string> AssertRefusedAsync(TestGateway gateway, string ingress, string status, string field)
    {
        var routes = await gateway.GetAdminJsonAsync("/api/routes");
        var report = routes["ingresses"]!.AsArray().Single(i => (string?)i!["ingress"] == ingress)!;
        Assert.Equal(status, (string?)report["status"]);
        var error = Assert.Single(report["errors"]!.AsArray(), e => (string?)e!["field"] == field)!;
        return (string?)error["message"] ?? "";
    }
}
