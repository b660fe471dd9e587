using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

// bareyarp LISTEN DESTINATION [--forwarder] [--h2c]: Kestrel on LISTEN (e.g. 127.0.0.1:0) proxying every
// request to DESTINATION (e.g. http://127.0.0.1:8081/).
//   default      YARP as a reverse proxy is deployed: one catch-all route to one cluster, in-memory
//                config, MapReverseProxy with YARP's default pipeline and transforms (X-Forwarded-*).
//   --forwarder  the floor under that: YARP's direct forwarder (IHttpForwarder) with HttpTransformer.Default,
//                no routing, no transforms.
//   --h2c        the listener speaks HTTP/2 only, with prior knowledge (for h2load); HTTP/1.1 otherwise.
// Prints "bareyarp: listening http=127.0.0.1:PORT" once it accepts connections.
var flags = args.Skip(2).ToHashSet(StringComparer.Ordinal);
var forwarderOnly = flags.Remove("--forwarder");
var h2c = flags.Remove("--h2c");
if (args.Length < 2 || flags.Count > 0
    || !IPEndPoint.TryParse(args[0], out var listen) || !Uri.TryCreate(args[1], UriKind.Absolute, out var destination))
{
    Console.Error.WriteLine("usage: bareyarp LISTEN(ip:port) DESTINATION(http://host:port/) [--forwarder] [--h2c]");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k =>
{
    k.AddServerHeader = false;
    k.Listen(listen, l => l.Protocols = h2c ? HttpProtocols.Http2 : HttpProtocols.Http1AndHttp2);
});

var prefix = destination.GetLeftPart(UriPartial.Authority) + "/";
if (forwarderOnly)
{
    builder.Services.AddHttpForwarder();
}
else
{
    builder.Services.AddReverseProxy().LoadFromMemory(
        [new RouteConfig { RouteId = "all", ClusterId = "backend", Match = new RouteMatch { Path = "/{**rest}" } }],
        [new ClusterConfig
        {
            ClusterId = "backend",
            Destinations = new Dictionary<string, DestinationConfig> { ["backend"] = new() { Address = prefix } },
            HttpRequest = new ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromSeconds(60) },
        }]);
}

var app = builder.Build();

// With --forwarder: the gateway's upstream client settings (gateway/Hosting/GatewayApp.cs), so both sides pool alike.
// YARP's own proxy builds a client of the same kind (ForwarderHttpClientFactory).
using var invoker = new HttpMessageInvoker(new SocketsHttpHandler
{
    UseProxy = false,
    AllowAutoRedirect = false,
    AutomaticDecompression = DecompressionMethods.None,
    UseCookies = false,
    EnableMultipleHttp2Connections = true,
    ConnectTimeout = TimeSpan.FromSeconds(5),
    PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
});
if (forwarderOnly)
{
    var forwarder = app.Services.GetRequiredService<IHttpForwarder>();
    var config = new ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromSeconds(60) };
    app.Run(async context => await forwarder.SendAsync(context, prefix, invoker, config, HttpTransformer.Default));
}
else
{
    app.MapReverseProxy();
}

await app.StartAsync();
var port = new Uri(app.Urls.First()).Port;
Console.WriteLine($"bareyarp: listening http={listen.Address}:{port.ToString(CultureInfo.InvariantCulture)} mode={(forwarderOnly ? "forwarder" : "proxy")}");
await app.WaitForShutdownAsync();
return 0;
