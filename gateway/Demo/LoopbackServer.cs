using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AuditGateway.Demo;

/// <summary>
/// A small Kestrel server on a port the OS picks (loopback unless told otherwise), with no logging
/// and no <c>Server</c> header: the demo's echo backends, and the backends and identity providers of
/// the tests and the load-test harness.
/// </summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackServer(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>The base URL, e.g. <c>http://127.0.0.1:40123/</c>.</summary>
    public Uri Url { get; }

    public int Port => Url.Port;

    /// <summary>Starts the server once <paramref name="configure"/> has mapped what it answers.</summary>
    /// <param name="listen">Adjusts the listener, e.g. to add TLS.</param>
    public static async Task<LoopbackServer> StartAsync(
        Action<WebApplication> configure, IPAddress? address = null, Action<ListenOptions>? listen = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(address ?? IPAddress.Loopback, 0, l => listen?.Invoke(l));
        });
        var app = builder.Build();
        configure(app);
        await app.StartAsync(cancellationToken);
        return new LoopbackServer(app, new Uri(app.Urls.First().TrimEnd('/') + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
