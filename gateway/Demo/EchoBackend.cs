using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AuditGateway.Demo;

/// <summary>What an echo backend saw of a request; it answers with this as JSON.</summary>
internal sealed record EchoReply(
    string Service,
    string Method,
    string Path,
    string Query,
    string Host,
    IReadOnlyDictionary<string, string> Headers);

/// <summary>A tiny Kestrel backend on loopback that answers every request with what it received.</summary>
internal sealed class EchoBackend : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EchoBackend(WebApplication app, string name, int port)
    {
        _app = app;
        Name = name;
        Port = port;
    }

    public string Name { get; }

    public int Port { get; }

    public static async Task<EchoBackend> StartAsync(string name, IPAddress? address = null, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(address ?? IPAddress.Loopback, 0);
        });
        var app = builder.Build();
        app.Run(context =>
        {
            var request = context.Request;
            var headers = request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal);
            var reply = new EchoReply(name, request.Method, request.Path.Value ?? "", request.QueryString.Value ?? "", request.Host.Value ?? "", headers);
            context.Response.ContentType = "application/json";
            context.Response.Headers["X-Backend"] = name;
            return JsonSerializer.SerializeAsync(context.Response.Body, reply, EchoJsonContext.Default.EchoReply, context.RequestAborted);
        });
        await app.StartAsync(cancellationToken);
        var port = new Uri(app.Urls.First()).Port;
        return new EchoBackend(app, name, port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(EchoReply))]
internal sealed partial class EchoJsonContext : JsonSerializerContext;
