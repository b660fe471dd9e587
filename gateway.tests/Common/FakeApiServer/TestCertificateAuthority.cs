using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace AuditGateway.Tests.Common.FakeApiServer;

/// <summary>A throw-away CA and a server certificate it signs, for loopback TLS in tests.</summary>
internal sealed class TestCertificateAuthority : IDisposable
{
    private readonly X509Certificate2 _caWithKey;

    private TestCertificateAuthority(X509Certificate2 caWithKey, X509Certificate2 server)
    {
        _caWithKey = caWithKey;
        Ca = X509CertificateLoader.LoadCertificate(caWithKey.RawData);
        Server = server;
    }

    /// <summary>The CA certificate (public part only).</summary>
    public X509Certificate2 Ca { get; }

    /// <summary>The server certificate with its private key; SANs 127.0.0.1, ::1 and localhost unless other names were given.</summary>
    public X509Certificate2 Server { get; }

    public string CaPem => Ca.ExportCertificatePem();

    /// <summary>A CA and a server certificate for <paramref name="serverNames"/> (DNS names), or for loopback when none are given.</summary>
    public static TestCertificateAuthority Create(string commonName, params string[] serverNames)
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN={commonName} CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var caWithKey = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        var san = new SubjectAlternativeNameBuilder();
        if (serverNames.Length == 0)
        {
            san.AddIpAddress(IPAddress.Loopback);
            san.AddIpAddress(IPAddress.IPv6Loopback);
            san.AddDnsName("localhost");
        }

        foreach (var name in serverNames)
        {
            san.AddDnsName(name);
        }

        var server = Issue(caWithKey, $"CN={commonName}", san.Build(), "1.3.6.1.5.5.7.3.1");
        return new TestCertificateAuthority(caWithKey, server);
    }

    /// <summary>A client certificate (with its key) as the API server reads one: CN is the user, O the groups.</summary>
    public X509Certificate2 IssueClientCertificate(string user, params string[] groups)
    {
        var subject = string.Join(", ", [$"CN={user}", .. groups.Select(g => $"O={g}")]);
        return Issue(_caWithKey, subject, null, "1.3.6.1.5.5.7.3.2");
    }

    private static X509Certificate2 Issue(X509Certificate2 caWithKey, string subject, X509Extension? san, string usage)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        if (san is not null)
        {
            request.CertificateExtensions.Add(san);
        }

        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(caWithKey, true, false));
        using var signed = request.Create(caWithKey, caWithKey.NotBefore, caWithKey.NotAfter, RandomNumberGenerator.GetBytes(16));
        using var withKey = signed.CopyWithPrivateKey(key);
        // Round-trip through PKCS#12 so the key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    public void Dispose()
    {
        _caWithKey.Dispose();
        Ca.Dispose();
        Server.Dispose();
    }
}
