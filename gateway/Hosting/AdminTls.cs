using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AuditGateway.Configuration;

namespace AuditGateway.Hosting;

/// <summary>The admin listener's certificate (<c>admin.tls</c>), needed for the admission webhook.</summary>
internal static class AdminTls
{
    public static X509Certificate2? Load(GatewayOptions options)
    {
        if (options.AuditWebhookTokenProblem() is { } problem)
        {
            throw new OptionException(problem);
        }

        if (options.File.Admin?.Tls is not { } tls)
        {
            return null;
        }

        if (tls.CertFile is null || tls.KeyFile is null)
        {
            throw new OptionException("admin.tls: certFile and keyFile are both required");
        }

        var directory = options.Config is null ? Directory.GetCurrentDirectory() : Path.GetDirectoryName(Path.GetFullPath(options.Config))!;
        var certFile = Path.Combine(directory, tls.CertFile);
        var keyFile = Path.Combine(directory, tls.KeyFile);
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            // Through PKCS#12 so the key is usable by SslStream on every platform.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new OptionException($"admin.tls: cannot load certificate '{certFile}' with key '{keyFile}': {e.Message}");
        }
    }
}
