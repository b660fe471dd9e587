using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using AuditGateway.Proxy;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace AuditGateway.Hosting;

/// <summary>
/// The three listeners (docs/configuration.md): plain HTTP (HTTP/1.1, and HTTP/2 with prior knowledge),
/// HTTPS with certificates by SNI (HTTP/1.1 and HTTP/2 by ALPN), and the admin listener.
/// </summary>
internal static partial class GatewayListeners
{
    public static void Configure(KestrelServerOptions kestrel, GatewayOptions options, X509Certificate2? adminCertificate)
    {
        kestrel.AddServerHeader = false;
        var certificates = kestrel.ApplicationServices.GetRequiredService<CertificateStore>();
        var ports = kestrel.ApplicationServices.GetRequiredService<ListenerPorts>();
        var rejected = kestrel.ApplicationServices.GetRequiredService<RejectedRequestAuditor>();
        kestrel.Listen(options.Http, l =>
        {
            ports.Register(ListenerKind.Http, l);
            rejected.Track(l, "http");
            if (!Http2PriorKnowledge.TryUse(l, kestrel.Limits.KeepAliveTimeout))
            {
                LogNoPriorKnowledge(kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(GatewayListeners)), options.Http.ToString());
            }
        });
        kestrel.Listen(options.Https, l =>
        {
            l.Protocols = HttpProtocols.Http1AndHttp2;
            l.UseHttps(new HttpsConnectionAdapterOptions
            {
                SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                ServerCertificateSelector = (_, name) => certificates.Select(name),
            });
            ports.Register(ListenerKind.Https, l);
            rejected.Track(l, "https");
        });
        kestrel.Listen(options.Admin, l =>
        {
            ports.Register(ListenerKind.Admin, l);
            if (adminCertificate is not null)
            {
                // The apiserver calls the admission webhook over HTTPS; a client certificate is optional.
                l.UseHttps(new HttpsConnectionAdapterOptions
                {
                    SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    ServerCertificate = adminCertificate,
                });
            }
        });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The plain listener {Endpoint} serves HTTP/1.1 only: this Kestrel version has no per-connection protocol feature for HTTP/2 with prior knowledge")]
    private static partial void LogNoPriorKnowledge(ILogger logger, string endpoint);
}
