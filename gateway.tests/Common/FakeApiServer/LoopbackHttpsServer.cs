using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace AuditGateway.Tests.Common.FakeApiServer;

/// <summary>A one-handler HTTPS server on 127.0.0.1:0, e.g. a webhook for the fake API server to call.</summary>
internal sealed class LoopbackHttpsServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TestCertificateAuthority _certificates;

    private LoopbackHttpsServer(WebApplication app, TestCertificateAuthority certificates, Uri url)
    {
        _app = app;
        _certificates = certificates;
        Url = url;
    }

    public Uri Url { get; }

    public System.Security.Cryptography.X509Certificates.X509Certificate2 Ca => _certificates.Ca;

    /// <summary>
    /// Starts serving <paramref name="handler"/>; the server owns (and disposes) <paramref name="certificates"/>.
    /// With <paramref name="clientCertificates"/> it asks for a client certificate and lets any through
    /// the handshake: the handler decides (<c>HttpContext.Connection.ClientCertificate</c>), as the apiserver does.
    /// </summary>
    public static async Task<LoopbackHttpsServer> StartAsync(RequestDelegate handler, TestCertificateAuthority? certificates = null, bool clientCertificates = false)
    {
        certificates ??= TestCertificateAuthority.Create("webhook");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(new HttpsConnectionAdapterOptions
        {
            // A selector (not a fixed certificate) makes the TLS server name the client sent visible to handlers (ITlsHandshakeFeature.HostName).
            ServerCertificateSelector = (_, _) => certificates.Server,
            ClientCertificateMode = clientCertificates ? ClientCertificateMode.AllowCertificate : ClientCertificateMode.NoCertificate,
            ClientCertificateValidation = (_, _, _) => true,
        })));
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LoopbackHttpsServer(app, certificates, new Uri(address));
    }

    public TestCertificateAuthority Certificates => _certificates;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(TimeSpan.FromSeconds(2));
        await _app.DisposeAsync();
        _certificates.Dispose();
    }
}
