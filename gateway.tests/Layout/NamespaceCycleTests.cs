namespace AuditGateway.Tests.Layout;

/// <summary>The gateway's namespaces (one per folder) use each other without a cycle.</summary>
public sealed class NamespaceCycleTests
{
    private static readonly NamespaceGraph Gateway = NamespaceGraph.Read(typeof(AuditGateway.Hosting.GatewayApp).Assembly.Location, "AuditGateway");

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
