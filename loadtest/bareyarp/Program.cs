using System.Globalization;
using System.Net;
using Yarp.ReverseProxy.Forwarder;

// bareyarp LISTEN DESTINATION: Kestrel on LISTEN (e.g. 127.0.0.1:0) forwarding every request to
// DESTINATION (e.g. http://127.0.0.1:8081/) with YARP's direct forwarder and its default transforms.
// Prints "bareyarp: listening http=127.0.0.1:PORT" once it accepts connections.
if (args.Length != 2 || !IPEndPoint.TryParse(args[0], out var listen) || !Uri.TryCreate(args[1], UriKind.Absolute, out var destination))
{
    Console.Error.WriteLine("usage: bareyarp LISTEN(ip:port) DESTINATION(http://host:port/)");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k =>
{
    k.AddServerHeader = false;
    k.Listen(listen);
});
builder.Services.AddHttpForwarder();
var app = builder.Build();

// The gateway's upstream client settings (gateway/Hosting/GatewayApp.cs), so both sides pool alike.
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
var forwarder = app.Services.GetRequiredService<IHttpForwarder>();
var config = new ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromSeconds(60) };
var prefix = destination.GetLeftPart(UriPartial.Authority) + "/";
app.Run(async context => await forwarder.SendAsync(context, prefix, invoker, config, HttpTransformer.Default));

await app.StartAsync();
var port = new Uri(app.Urls.First()).Port;
Console.WriteLine($"bareyarp: listening http={listen.Address}:{port.ToString(CultureInfo.InvariantCulture)}");
await app.WaitForShutdownAsync();
return 0;
