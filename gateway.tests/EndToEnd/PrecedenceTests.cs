using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// Two Ingresses for one host: the longest matching path across both wins, Exact beats
/// Prefix at equal length, and a claim on the same host+path+type goes to the older
/// Ingress (then namespace/name) while the loser is reported.
/// </summary>
public sealed class PrecedenceTests(PrecedenceTests.TwoIngresses fixture) : IClassFixture<PrecedenceTests.TwoIngresses>
{
    private TestGateway Gateway => fixture.Gateway;

    [Theory]
    [InlineData("/api/v1/users", "older-svc")] // longest: older's /api/v1 over newer's /api
    [InlineData("/api/v2", "newer-svc")] // only newer's /api Prefix matches
    [InlineData("/api", "older-svc")] // older's Exact /api beats newer's Prefix /api
    [InlineData("/shop/cart", "newer-svc")] // newer's /shop/cart is longer than older's /shop
    public async Task Longest_path_across_both_Ingresses_wins_and_Exact_beats_Prefix(string path, string backend) =>
        Assert.Equal(backend, await Gateway.ServedByAsync("http://p.test" + path));

    [Fact]
    public async Task Same_host_path_and_type_goes_to_the_older_Ingress_and_the_loser_is_reported()
    {
        Assert.Equal("older-svc", await Gateway.ServedByAsync("http://p.test/same/x"));

        var routes = await Gateway.GetAdminJsonAsync("/api/routes");
        var newer = routes["ingresses"]!.AsArray().Single(i => (string?)i!["ingress"] == "default/newer")!;
        Assert.Equal("accepted", (string?)newer["status"]);
        var warning = Assert.Single(newer["warnings"]!.AsArray(), w => ((string?)w)!.Contains("/same", StringComparison.Ordinal));
        Assert.Contains("default/older", (string?)warning, StringComparison.Ordinal);
        Assert.DoesNotContain(routes["routes"]!.AsArray(), r => (string?)r!["id"] == "default/newer:p.test/same:Prefix");
        Assert.Contains(routes["routes"]!.AsArray(), r => (string?)r!["id"] == "default/older:p.test/same:Prefix");
    }

    [Fact]
    public async Task Equal_timestamps_fall_back_to_namespace_and_name()
    {
        Assert.Equal("alpha-svc", await Gateway.ServedByAsync("http://tie.test/"));
        Assert.Contains(Gateway.ReportOf("default/beta").Warnings, w => w.Contains("default/alpha", StringComparison.Ordinal));
    }

    public sealed class TwoIngresses : SharedGateway
    {
        private protected override string[] Backends => ["older-svc", "newer-svc", "alpha-svc", "beta-svc"];

        private protected override void WriteManifests(TestGateway gateway)
        {
            gateway.WriteManifest("services.yaml", Manifests.Documents([.. Backends.Select(b => gateway.ServiceFor(b))]));
            // "newer" sorts first by name and file, and is newer: only its age makes it lose.
            gateway.WriteManifest("1-newer.yaml", Manifests.Ingress(
                "newer",
                [new HostRule(
                    "p.test",
                    new PathRule("/api", "Prefix", "newer-svc", 80),
                    new PathRule("/shop/cart", "Prefix", "newer-svc", 80),
                    new PathRule("/same", "Prefix", "newer-svc", 80))],
                created: Manifests.Created.AddHours(1)));
            gateway.WriteManifest("2-older.yaml", Manifests.Ingress(
                "older",
                [new HostRule(
                    "p.test",
                    new PathRule("/api/v1", "Prefix", "older-svc", 80),
                    new PathRule("/api", "Exact", "older-svc", 80),
                    new PathRule("/shop", "Prefix", "older-svc", 80),
                    new PathRule("/same", "Prefix", "older-svc", 80))],
                created: Manifests.Created));
            gateway.WriteManifest("3-beta.yaml", Manifests.Ingress("beta", [new HostRule("tie.test", new PathRule("/", "Prefix", "beta-svc", 80))]));
            gateway.WriteManifest("4-alpha.yaml", Manifests.Ingress("alpha", [new HostRule("tie.test", new PathRule("/", "Prefix", "alpha-svc", 80))]));
        }
    }
}
