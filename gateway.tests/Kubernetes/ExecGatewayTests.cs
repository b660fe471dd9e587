using System.Net;
using System.Text.Json.Nodes;
using AuditGateway.Demo;
using AuditGateway.Hosting;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Common.FakeApiServer;

namespace AuditGateway.Tests.Kubernetes;

/// <summary>
/// Cluster mode end to end with an exec-only kubeconfig: kubectl creates an Ingress with it, and a
/// gateway started with it (the plugin's token is the only one the API server accepts) serves the route.
/// </summary>
public sealed class ExecGatewayTests
{
    [Fact]
    public async Task A_gateway_with_an_exec_plugin_kubeconfig_serves_an_ingress_kubectl_created_with_the_same_file()
    {
        using var plugin = PluginScript.Create();
        await using var server = await FakeApiServer.StartAsync(new FakeApiServerOptions
        {
            Users = new Dictionary<string, FakeUser> { ["exec-token"] = new("exec-user", ["system:masters", "system:authenticated"]) },
        });
        await using var backend = await EchoBackend.StartAsync("web");
        plugin.Answer(PluginScript.Credential(PluginScript.V1, token: "exec-token"));
        var kubeconfig = plugin.WriteKubeconfig(server.Url, server.CaPem, new JsonObject { ["exec"] = PluginScript.Exec(PluginScript.V1, "IfAvailable") });

        var ingress = Manifests.Ingress("shop", [new HostRule("shop.test", new PathRule("/", "Prefix", "web", 80))]);
        var manifests = "---\n" + Manifests.Documents(Manifests.Backend("web", backend.Port).Trim(), ingress.Trim());
        (await Kubectl.RunAsync(kubeconfig, plugin.Directory, manifests, "create", "-f", "-")).EnsureSuccess();

        var loopback = new IPEndPoint(IPAddress.Loopback, 0);
        await using var gateway = await GatewayApp.StartAsync(new GatewayOptions
        {
            Kubeconfig = kubeconfig,
            Data = Path.Combine(plugin.Directory, "data"),
            Http = loopback,
            Https = loopback,
            Admin = loopback,
            Node = "exec-node",
        });
        using (var timeout = new CancellationTokenSource(TestGateway.Timeout))
        {
            await gateway.Routing.WaitForAsync(t => gateway.Routing.Synced && t.Routes.Count == 1, timeout.Token);
        }

        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TestGateway.Timeout };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{gateway.Ports.Http}/items");
        request.Headers.Host = "shop.test";
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("web", Assert.Single(response.Headers.GetValues("X-Backend")));
    }
}
