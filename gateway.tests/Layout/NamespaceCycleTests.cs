namespace AuditGateway.Tests.Layout;

/// <summary>The gateway's namespaces (one per folder) use each other without a cycle, and only as the README's layout says.</summary>
public sealed class NamespaceCycleTests
{
    private static readonly NamespaceGraph Gateway = NamespaceGraph.Read(typeof(AuditGateway.Hosting.GatewayApp).Assembly.Location, "AuditGateway");

    /// <summary>What each top-level folder may use (the README's layout section); the root namespace is the command line.</summary>
    private static readonly Dictionary<string, string[]> MayUse = new(StringComparer.Ordinal)
    {
        ["Configuration"] = [],
        ["Audit"] = [],
        ["Kubernetes"] = ["Configuration"],
        ["Policy"] = ["Configuration", "Audit"],
        ["Routing"] = ["Kubernetes", "Policy"],
        ["ControlPlane"] = ["Configuration", "Audit", "Kubernetes", "Routing"],
        ["Telemetry"] = ["Configuration", "Policy", "Routing", "ControlPlane"],
        ["Proxy"] = ["Audit", "Policy", "Routing", "ControlPlane", "Telemetry"],
        ["Search"] = ["Configuration", "Audit"],
        ["Reports"] = ["Configuration", "Audit"],
        ["Redis"] = ["Configuration", "Audit", "Policy", "ControlPlane", "Search", "Reports"],
        ["Admin"] = ["Configuration", "Audit", "Policy", "Routing", "ControlPlane", "Search", "Reports", "Redis"],
        ["Hosting"] = ["Configuration", "Audit", "Kubernetes", "Policy", "Routing", "ControlPlane", "Proxy", "Admin", "Reports", "Telemetry", "Redis"],
        ["Demo"] = ["Hosting", "Proxy"],
        [""] = ["Audit", "Hosting", "Demo", "Search", "Reports", "Redis"],
    };

    private static string Folder(string ns) => ns == "AuditGateway" ? "" : ns["AuditGateway.".Length..].Split('.')[0];

    [Fact]
    public void Each_folder_uses_only_what_the_layout_allows()
    {
        var unexpected = Gateway.Namespaces
            .SelectMany(from => Gateway.Uses(from).Select(to => (From: from, To: to.Key, Example: to.Value)))
            .Where(e => Folder(e.From) != Folder(e.To))
            .Where(e => !MayUse.TryGetValue(Folder(e.From), out var allowed) || !allowed.Contains(Folder(e.To)))
            .Select(e => $"{e.From} uses {e.To} ({e.Example})")
            .ToList();
        Assert.True(unexpected.Count == 0, "uses the layout does not allow:\n" + string.Join("\n", unexpected));
        Assert.All(Gateway.Namespaces, ns => Assert.True(MayUse.ContainsKey(Folder(ns)), $"{ns}: a folder the layout does not name"));
    }

    [Fact]
    public void No_namespace_of_the_gateway_depends_on_itself_through_others()
    {
        var cycles = Gateway.Cycles();
        var explained = cycles.Select(c => string.Join(", ", c) + ": " + string.Join("; ",
            c.SelectMany(from => Gateway.Uses(from).Where(e => c.Contains(e.Key)).Select(e => $"{from} uses {e.Key} ({e.Value})"))));
        Assert.True(cycles.Count == 0, "namespace cycles:\n" + string.Join("\n", explained));
    }

    [Fact]
    public void The_graph_sees_uses_through_lambdas_and_field_types()
    {
        var sample = NamespaceGraph.Read(typeof(NamespaceCycleTests).Assembly.Location, "AuditGateway.Tests.Layout.CycleSample");
        var cycle = Assert.Single(sample.Cycles());
        Assert.Equal(["AuditGateway.Tests.Layout.CycleSample.First", "AuditGateway.Tests.Layout.CycleSample.Second"], cycle);
    }

    [Fact]
    public void The_graph_reads_the_gateway_assembly()
    {
        Assert.Contains("AuditGateway.Audit.Merkle", Gateway.Namespaces);
        Assert.Contains("AuditGateway.Audit", Gateway.Uses("AuditGateway.Hosting").Keys);
    }
}
