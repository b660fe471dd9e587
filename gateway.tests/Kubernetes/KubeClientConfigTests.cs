using System.Text;
using AuditGateway.Kubernetes.Client;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Common.FakeApiServer;

namespace AuditGateway.Tests.Kubernetes;

public sealed class KubeClientConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kubeconfig-tests").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Config(string cluster, string user, string contextNamespace = "") => $"""
        apiVersion: v1
        kind: Config
        current-context: main
        contexts:
        - name: main
          context:
            cluster: c1
            user: u1
        {contextNamespace}
        clusters:
        - name: c1
          cluster:
        {cluster}
        users:
        - name: u1
          user:
        {user}
        """;

    [Fact]
    public void Kubeconfig_with_ca_data_and_token()
    {
        using var certs = TestCertificateAuthority.Create("cfg");
        var caData = Convert.ToBase64String(Encoding.ASCII.GetBytes(certs.CaPem));
        var path = Write("k1", Config($"    server: https://10.0.0.1:6443\n    certificate-authority-data: {caData}", "    token: abc", "    namespace: gw"));
        var config = KubeClientConfig.FromKubeconfig(path);
        Assert.Equal(new Uri("https://10.0.0.1:6443"), config.Server);
        Assert.Equal(certs.Ca.Thumbprint, Assert.Single(config.CaCertificates!).Thumbprint);
        Assert.Equal("abc", config.Token!.GetToken());
        Assert.Equal("gw", config.Namespace);
    }

    [Fact]
    public void Kubeconfig_with_files_relative_to_it_and_client_certificate_data()
    {
        using var certs = TestCertificateAuthority.Create("cfg");
        Write("ca.crt", certs.CaPem);
        Write("token", "from-file\n");
        var certData = Convert.ToBase64String(Encoding.ASCII.GetBytes(certs.Server.ExportCertificatePem()));
        var keyData = Convert.ToBase64String(Encoding.ASCII.GetBytes(System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions.GetECDsaPrivateKey(certs.Server)!.ExportPkcs8PrivateKeyPem()));
        var path = Write("k2", Config(
            "    server: https://example:443\n    certificate-authority: ca.crt\n    insecure-skip-tls-verify: true",
            $"    tokenFile: token\n    client-certificate-data: {certData}\n    client-key-data: {keyData}"));
        var config = KubeClientConfig.FromKubeconfig(path);
        Assert.True(config.InsecureSkipTlsVerify);
        Assert.Equal("from-file", config.Token!.GetToken());
        Assert.True(config.ClientCertificate!.HasPrivateKey);
        Assert.NotNull(config.CaCertificates);
    }

    [Theory]
    [InlineData("    insecure-skip-tls-verify: true", "    token: x", "clusters[c1].cluster.server is missing")]
    [InlineData("    server: https://a\n    certificate-authority-data: '!!'", "    token: x", "clusters[c1].cluster.certificate-authority-data is not valid base64")]
    [InlineData("    server: https://a\n    certificate-authority: nope.crt", "    token: x", "clusters[c1].cluster.certificate-authority: file")]
    [InlineData("    server: https://a", "    client-certificate-data: QUJD", "users[u1].user: client-certificate and client-key must both be set")]
    [InlineData("    server: ftp://a", "    token: x", "clusters[c1].cluster.server: 'ftp://a' is not an http(s) URL")]
    public void Kubeconfig_errors_name_the_field(string cluster, string user, string expected)
    {
        var path = Write("bad", Config(cluster, user));
        var e = Assert.Throws<KubeConfigException>(() => KubeClientConfig.FromKubeconfig(path));
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void In_cluster_reads_env_and_service_account_files_and_rereads_the_token_each_minute()
    {
        using var certs = TestCertificateAuthority.Create("cfg");
        var paths = new InClusterPaths(Write("token", "t1"), Write("ca.crt", certs.CaPem), Write("namespace", "gateway\n"));
        var env = new Dictionary<string, string> { ["KUBERNETES_SERVICE_HOST"] = "fd00::1", ["KUBERNETES_SERVICE_PORT"] = "443" };
        var time = new ManualTimeProvider();
        var config = KubeClientConfig.FromInCluster(paths, k => env.GetValueOrDefault(k), time);
        Assert.Equal("https://[fd00::1]/", config.Server.ToString());
        Assert.Equal("gateway", config.Namespace);
        Assert.Equal("t1", config.Token!.GetToken());

        File.WriteAllText(paths.TokenFile, "t2");
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal("t1", config.Token.GetToken());
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("t2", config.Token.GetToken());

        var e = Assert.Throws<KubeConfigException>(() => KubeClientConfig.FromInCluster(paths, _ => null, time));
        Assert.Contains("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined", e.Message);
    }
}
