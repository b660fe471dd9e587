using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace AuditGateway.Kubernetes.Client;

/// <summary>
/// The HTTP transport to the API server as the kubeconfig describes it: the server certificate
/// checked against the named CA only (or not at all with <c>insecure-skip-tls-verify</c>), the
/// client certificate (static, or the exec plugin's latest), and <c>proxy-url</c>.
/// </summary>
internal static class KubeHttpHandler
{
    /// <summary><paramref name="connections"/>, when given, opens (and can close) every connection.</summary>
    public static SocketsHttpHandler Create(KubeClientConfig config, ConnectionTracker? connections)
    {
        var handler = new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1), KeepAlivePingDelay = TimeSpan.FromSeconds(30) };
        if (connections is not null)
        {
            handler.ConnectCallback = connections.ConnectAsync;
        }

        if (config.ClientCertificate is { } cert)
        {
            handler.SslOptions.ClientCertificates = [cert];
        }
        else if (config.Exec is { } exec)
        {
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => exec.Current?.Certificate!;
        }

        if (config.Proxy is { } proxy)
        {
            handler.UseProxy = true;
            handler.Proxy = WebProxyFor(proxy);
        }

        if (config.InsecureSkipTlsVerify)
        {
#pragma warning disable CA5359 // The kubeconfig asked for insecure-skip-tls-verify explicitly.
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
#pragma warning restore CA5359
        }
        else if (config.CaCertificates is { } roots)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                certificate is not null
                && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0
                && ChainsTo(certificate, chain, roots);
        }

        return handler;
    }

    /// <summary>An <c>http://</c>, <c>https://</c> or <c>socks5://</c> proxy; user information in the URL becomes its credentials.</summary>
    private static WebProxy WebProxyFor(Uri url)
    {
        var proxy = new WebProxy(new UriBuilder(url.Scheme, url.Host, url.Port).Uri);
        if (url.UserInfo.Length > 0)
        {
            var parts = url.UserInfo.Split(':', 2);
            proxy.Credentials = new NetworkCredential(Uri.UnescapeDataString(parts[0]), parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : "");
        }

        return proxy;
    }

    /// <summary>True when the server certificate chains to one of <paramref name="roots"/> (and only those).</summary>
    private static bool ChainsTo(X509Certificate certificate, X509Chain? presented, X509Certificate2Collection roots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements.Skip(1))
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }
}
