using System.Security.Cryptography.X509Certificates;
using AuditGateway.Proxy;

namespace AuditGateway.Tests.Common;

/// <summary>Self-signed certificates for TLS Secrets, and how tests tell them apart.</summary>
internal static class TestCertificates
{
    /// <summary>The subject of the gateway's own certificate for unknown server names.</summary>
    public const string DefaultSubject = "CN=AuditGateway default certificate";

    /// <summary>A certificate with subject <c>CN=<paramref name="commonName"/></c> for <paramref name="dnsName"/>.</summary>
    public static X509Certificate2 Create(string commonName, string dnsName) =>
        CertificateStore.CreateSelfSigned(commonName, TimeProvider.System.GetUtcNow(), dnsName);

    /// <summary>A Secret holding a new certificate with this common name for the host.</summary>
    public static string Secret(string secretName, string commonName, string dnsName)
    {
        using var certificate = Create(commonName, dnsName);
        return Manifests.TlsSecret(secretName, certificate);
    }
}
