using System.Security.Authentication;
using System.Text.Json.Nodes;
using AuditGateway.Kubernetes.Client;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Common.FakeApiServer;

namespace AuditGateway.Tests.Kubernetes;

/// <summary>
/// The kubeconfig's transport fields — <c>tls-server-name</c>, <c>proxy-url</c>,
/// <c>insecure-skip-tls-verify</c> — with the gateway's client and, on the same file, kubectl.
/// </summary>
public sealed class KubeTransportTests : IDisposable
{
    private readonly PluginScript _files = PluginScript.Create();

    public void Dispose() => _files.Dispose();

    private static JsonObject AdminUser => new() { ["token"] = FakeApiServerOptions.AdminToken };

    private static async Task ListAsync(string kubeconfig, ILogger? logger = null)
    {
        using var client = new KubeApiClient(KubeClientConfig.FromKubeconfig(kubeconfig), logger);
        await client.ListAsync(KubeResourceType.Ingresses, null, new ListOptions(), CancellationToken.None);
    }

    private Task<KubectlResult> KubectlAsync() => Kubectl.RunAsync(_files.KubeconfigPath, _files.Directory, null, "get", "ingresses", "-A");

    /// <summary>Both the client and kubectl refuse the server's certificate; kubectl says why.</summary>
    private async Task AssertCertificateRefusedAsync(string path, string kubectlReason)
    {
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => ListAsync(path));
        Assert.IsType<AuthenticationException>(e.InnerException);
        var refused = await KubectlAsync();
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains(kubectlReason, refused.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_server_name_is_the_name_checked_when_the_server_is_an_address()
    {
        await using var server = await FakeApiServer.StartAsync(new FakeApiServerOptions { ServerNames = ["kubernetes.test"] });

        var path = _files.WriteKubeconfig(server.Url, server.CaPem, AdminUser);
        await AssertCertificateRefusedAsync(path, "x509: cannot validate certificate for 127.0.0.1");

        _files.WriteKubeconfig(server.Url, server.CaPem, AdminUser, new JsonObject { ["tls-server-name"] = "kubernetes.test" });
        await ListAsync(path);
        Assert.Equal(["kubernetes.test"], server.ServerNamesSeen);
        (await KubectlAsync()).EnsureSuccess();
    }

    [Theory]
    [InlineData("http")]
    [InlineData("socks5")]
    public async Task Proxy_url_tunnels_every_connection_through_the_proxy(string scheme)
    {
        await using var server = await FakeApiServer.StartAsync();
        await using var proxy = new TunnelProxy();
        var path = _files.WriteKubeconfig(server.Url, server.CaPem, AdminUser, new JsonObject { ["proxy-url"] = $"{scheme}://127.0.0.1:{proxy.Port}" });

        await ListAsync(path);
        Assert.Equal(1, proxy.Tunnels);
        (await KubectlAsync()).EnsureSuccess();
        Assert.True(proxy.Tunnels > 1, $"kubectl opened no tunnel ({proxy.Tunnels})");
    }

    [Fact]
    public async Task Proxy_url_credentials_answer_the_proxy_challenge()
    {
        await using var server = await FakeApiServer.StartAsync();
        await using var proxy = new TunnelProxy(credential: "alice:s3cret");
        var path = _files.WriteKubeconfig(server.Url, server.CaPem, AdminUser, new JsonObject { ["proxy-url"] = $"http://alice:wrong@127.0.0.1:{proxy.Port}" });
        await Assert.ThrowsAsync<HttpRequestException>(() => ListAsync(path));
        Assert.Equal(0, proxy.Tunnels);

        _files.WriteKubeconfig(server.Url, server.CaPem, AdminUser, new JsonObject { ["proxy-url"] = $"http://alice:s3cret@127.0.0.1:{proxy.Port}" });
        await ListAsync(path);
        Assert.Equal(1, proxy.Tunnels);
    }

    [Fact]
    public async Task Insecure_skip_tls_verify_trusts_any_certificate_with_a_warning_and_a_wrong_ca_is_refused_without_it()
    {
        await using var server = await FakeApiServer.StartAsync();
        using var other = TestCertificateAuthority.Create("someone-else");

        var path = _files.WriteKubeconfig(server.Url, other.CaPem, AdminUser);
        await AssertCertificateRefusedAsync(path, "x509: certificate signed by unknown authority");

        using var logs = new LogCollector();
        _files.WriteKubeconfig(server.Url, null, AdminUser, new JsonObject { ["insecure-skip-tls-verify"] = true });
        await ListAsync(path, logs.CreateLogger("kube"));
        var warning = Assert.Single(logs.Lines);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("insecure-skip-tls-verify is set, the server's certificate is not checked", warning.Message, StringComparison.Ordinal);
        (await KubectlAsync()).EnsureSuccess();
    }

    [Fact]
    public void A_proxy_url_of_another_scheme_is_refused_naming_the_field()
    {
        var path = _files.WriteKubeconfig(new Uri("https://127.0.0.1:1"), null, AdminUser, new JsonObject { ["proxy-url"] = "ftp://proxy:21" });
        var e = Assert.Throws<KubeConfigException>(() => KubeClientConfig.FromKubeconfig(path));
        Assert.Equal($"kubeconfig {path}: clusters[fake].cluster.proxy-url: 'ftp://proxy:21' is not an http://, https:// or socks5:// URL", e.Message);
    }
}
