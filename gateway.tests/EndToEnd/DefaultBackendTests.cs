using System.Net;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// A request matching no rule goes to the <c>spec.defaultBackend</c> of the oldest Ingress
/// that has one, else the gateway answers 404.
/// </summary>
public sealed class DefaultBackendTests
{
    [Fact]
    public async Task Oldest_Ingress_with_a_default_backend_wins()
    {
        // Names and files sort the other way round from age, so only creationTimestamp can decide.
        await using var gateway = await TestGateway.StartAsync(["older", "newer", "rules"], g =>
        {
            g.WriteManifest("services.yaml", Manifests.Documents(g.ServiceFor("older"), g.ServiceFor("newer"), g.ServiceFor("rules")));
            g.WriteManifest("a.yaml", Manifests.Ingress(
                "a-newer",
                [new HostRule("app.test", new PathRule("/app", "Prefix", "rules", 80))],
                created: Manifests.Created.AddDays(1),
                defaultBackend: ("newer", 80)));
            g.WriteManifest("z.yaml", Manifests.Ingress("z-older", created: Manifests.Created, defaultBackend: ("older", 80)));
        });

        Assert.Equal("rules", await gateway.ServedByAsync("http://app.test/app/x"));
        Assert.Equal("older", await gateway.ServedByAsync("http://app.test/elsewhere"));
        Assert.Equal("older", await gateway.ServedByAsync("http://unknown.test/"));
        Assert.Contains(gateway.ReportOf("default/a-newer").Warnings, w => w.StartsWith("spec.defaultBackend: not used", StringComparison.Ordinal));

        gateway.DeleteManifest("z.yaml");
        await gateway.WaitForAsync(t => t.DefaultBackend?.Ingress == "a-newer");
        Assert.Equal("newer", await gateway.ServedByAsync("http://unknown.test/"));
    }

    [Fact]
    public async Task Without_any_default_backend_an_unmatched_request_gets_404_from_the_gateway()
    {
        await using var gateway = await TestGateway.StartAsync(["web"], g => g.WriteManifest("web.yaml", Manifests.Documents(
            g.ServiceFor("web"),
            Manifests.Ingress("web", [new HostRule("web.test", new PathRule("/", "Prefix", "web", 80))]))));

        Assert.Equal("web", await gateway.ServedByAsync("http://web.test/"));
        using var response = await gateway.GetAsync("http://unknown.test/anything");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("no route matches this host and path", TestGateway.Reason(response));
        Assert.Null(gateway.Table.DefaultBackend);
    }
}
