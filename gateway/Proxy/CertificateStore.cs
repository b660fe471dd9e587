using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AuditGateway.ControlPlane;
using AuditGateway.Routing;

namespace AuditGateway.Proxy;

/// <summary>
/// Server certificates by SNI: exact host, then a one-label wildcard, then a self-signed
/// default. Each new route table's certificates are loaded into a new snapshot before its change is
/// recorded, and the snapshot swapped in just before the table, so a rotated Secret serves its new
/// certificate on the next handshake, without a restart — and a change that fails leaves the old ones.
/// </summary>
internal sealed partial class CertificateStore : IRouteTableApplier, IDisposable
{
    private readonly ILogger _logger;
    private readonly X509Certificate2 _default;
    private Snapshot _snapshot = new(new Dictionary<string, X509Certificate2>(StringComparer.OrdinalIgnoreCase), []);

    public CertificateStore(TimeProvider time, ILogger<CertificateStore> logger)
    {
        _logger = logger;
        _default = CreateSelfSigned("AuditGateway default certificate", time.GetUtcNow());
    }

    public X509Certificate2 Default => _default;

    /// <summary>The certificate for a TLS client hello's server name.</summary>
    public X509Certificate2 Select(string? serverName)
    {
        if (string.IsNullOrEmpty(serverName))
        {
            return _default;
        }

        var snapshot = Volatile.Read(ref _snapshot);
        if (snapshot.ByHost.TryGetValue(serverName, out var exact))
        {
            return exact;
        }

        var dot = serverName.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && snapshot.ByHost.TryGetValue(string.Concat("*", serverName.AsSpan(dot)), out var wildcard)
            ? wildcard
            : _default;
    }

    public ValueTask<Action> PrepareAsync(RouteTableUpdate update, CancellationToken cancellationToken)
    {
        var previous = Volatile.Read(ref _snapshot);
        var byHash = new Dictionary<string, X509Certificate2>(StringComparer.Ordinal);
        var byHost = new Dictionary<string, X509Certificate2>(StringComparer.OrdinalIgnoreCase);
        foreach (var binding in update.After.Tls)
        {
            if (!byHash.TryGetValue(binding.ContentHash, out var certificate)
                && !previous.ByHash.TryGetValue(binding.ContentHash, out certificate))
            {
                try
                {
                    certificate = Load(binding);
                }
                catch (CryptographicException e)
                {
                    LogBadCertificate(_logger, binding.Secret, binding.Host, e.Message);
                    continue;
                }
            }

            byHash[binding.ContentHash] = certificate;
            byHost[binding.Host] = certificate;
        }

        var next = new Snapshot(byHost, byHash);
        // Certificates no longer bound (or prepared and never committed) are left to the finalizer: an in-flight handshake may still hold one.
        return ValueTask.FromResult<Action>(() => Volatile.Write(ref _snapshot, next));
    }

    public void Dispose() => _default.Dispose();

    private static X509Certificate2 Load(TlsBinding binding)
    {
        using var pem = X509Certificate2.CreateFromPem(binding.CertificatePem, binding.KeyPem);
        // Re-import so the key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>A self-signed certificate for unknown server names (and for tests).</summary>
    internal static X509Certificate2 CreateSelfSigned(string subject, DateTimeOffset now, params string[] dnsNames)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            names.AddDnsName(name);
        }

        if (dnsNames.Length > 0)
        {
            request.CertificateExtensions.Add(names.Build());
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    private sealed record Snapshot(Dictionary<string, X509Certificate2> ByHost, Dictionary<string, X509Certificate2> ByHash);

    [LoggerMessage(Level = LogLevel.Error, Message = "TLS secret {Secret} for host {Host} holds no usable certificate and key ({Reason}); the default certificate is served")]
    private static partial void LogBadCertificate(ILogger logger, string secret, string host, string reason);
}
