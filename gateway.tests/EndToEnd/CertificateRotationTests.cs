using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>A TLS Secret updated on disk rotates the certificate without a restart.</summary>
public sealed class CertificateRotationTests
{
    private const string Host = "rotate.tls.test";

    [Fact]
    public async Task Updated_secret_is_served_on_the_next_connection()
    {
        await using var gateway = await TestGateway.StartAsync(["secure"], g =>
        {
            g.WriteManifest("secret.yaml", TestCertificates.Secret("rotate-tls", "first", Host));
            g.WriteManifest("ingress.yaml", Manifests.Documents(
                g.ServiceFor("secure"),
                Manifests.Ingress("rotate", [new HostRule(Host, new PathRule("/", "Prefix", "secure", 80))], tls: [new TlsEntry("rotate-tls", Host)])));
        });
        using var first = await gateway.HandshakeAsync(Host);
        Assert.Equal("CN=first", first.Subject);
        var firstHash = gateway.Table.Tls.Single(b => b.Host == Host).ContentHash;

        gateway.WriteManifest("secret.yaml", TestCertificates.Secret("rotate-tls", "second", Host));
        await gateway.WaitForAsync(t => t.Tls.Any(b => b.Host == Host && b.ContentHash != firstHash));

        var (response, second) = await gateway.GetOverNewTlsConnectionAsync($"https://{Host}/after");
        using (response)
        using (second)
        {
            Assert.Equal("secure", (await TestGateway.ReadEchoAsync(response, Host)).Service);
            Assert.Equal("CN=second", second.Subject);
            Assert.NotEqual(first.SerialNumber, second.SerialNumber);
        }

    }
}
