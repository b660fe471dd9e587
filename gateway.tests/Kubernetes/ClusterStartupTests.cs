using System.Net;
using AuditGateway.Hosting;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Kubernetes;

/// <summary>Cluster-mode options: defaults, and bad input as one clear line with exit code 2.</summary>
public sealed class ClusterStartupTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly string[] FreePorts = ["--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0"];
    private readonly string _dir = Directory.CreateTempSubdirectory("auditgw-cluster-startup-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static GatewayOptions Bind(Func<string, string?> environment, params string[] args) =>
        RunCommand.Bind(RunCommand.Create().Parse(args), environment);

    private static void AssertOneLineError(AuditgwProcess.Result result, string fragment)
    {
        Assert.Equal(2, result.ExitCode);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "expected one line, got: " + result.Stderr);
        Assert.Contains(fragment, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Cluster_mode_listens_on_every_address_unless_http_is_given()
    {
        Assert.Equal(new IPEndPoint(IPAddress.Any, 8080), Bind(_ => null, "--kubeconfig", "k").Http);
        Assert.Equal(new IPEndPoint(IPAddress.Any, 8080), Bind(n => n == "KUBERNETES_SERVICE_HOST" ? "10.0.0.1" : null).Http);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9000), Bind(_ => null, "--kubeconfig", "k", "--http", "127.0.0.1:9000").Http);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8080), Bind(_ => null, "--manifests", "m").Http);
        var options = Bind(n => n == "AUDITGW_PUBLISH_ADDRESS" ? "lb.example.com" : null, "--kubeconfig", "k", "--publish-service", "ns/svc", "--election-id", "e");
        Assert.Equal("lb.example.com", options.PublishAddress);
        Assert.Equal("ns/svc", options.PublishService);
        Assert.Equal("e", options.ElectionId);
    }

    [Fact]
    public async Task A_kubeconfig_that_cannot_be_used_is_named()
    {
        var missing = Path.Combine(_dir, "missing");
        AssertOneLineError(await AuditgwProcess.RunAsync(Timeout, ["run", "--kubeconfig", missing, "--data", _dir, .. FreePorts]), $"--kubeconfig {missing}: cannot read");

        var bad = Path.Combine(_dir, "bad");
        File.WriteAllText(bad, "apiVersion: v1\nkind: Config\ncurrent-context: nope\ncontexts: []\nclusters: []\nusers: []\n");
        AssertOneLineError(await AuditgwProcess.RunAsync(Timeout, ["run", "--kubeconfig", bad, "--data", _dir, .. FreePorts]), $"--kubeconfig {bad}:");
    }

    [Fact]
    public async Task Publish_service_must_be_namespace_and_name()
    {
        var result = await AuditgwProcess.RunAsync(Timeout, ["run", "--kubeconfig", "k", "--publish-service", "svc", .. FreePorts]);
        AssertOneLineError(result, "--publish-service 'svc': expected NAMESPACE/NAME");
    }
}
