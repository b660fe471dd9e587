using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AuditGateway.Demo;

/// <summary>What an echo backend saw of a request; it answers with this as JSON.</summary>
internal sealed record EchoReply(
    string Service,
    string Method,
    string Path,
    string Query,
    string Host,
    IReadOnlyDictionary<string, string> Headers);

/// <summary>A demo and test backend on loopback that answers every request with what it received, as JSON.</summary>
internal sealed class EchoBackend : IAsyncDisposable
{
    private readonly LoopbackServer _server;

    private EchoBackend(LoopbackServer server, string name)
    {
        _server = server;
        Name = name;
    }

    public string Name { get; }

    public int Port => _server.Port;

    public static async Task<EchoBackend> StartAsync(string name, IPAddress? address = null, CancellationToken cancellationToken = default)
    {
        var server = await LoopbackServer.StartAsync(app => app.Run(context => EchoAsync(context, name)), address, cancellationToken: cancellationToken);
        return new EchoBackend(server, name);
    }

    private static Task EchoAsync(HttpContext context, string name)
    {
        var request = context.Request;
        var headers = request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal);
        var reply = new EchoReply(name, request.Method, request.Path.Value ?? "", request.QueryString.Value ?? "", request.Host.Value ?? "", headers);
        context.Response.ContentType = "application/json";
        context.Response.Headers["X-Backend"] = name;
        return JsonSerializer.SerializeAsync(context.Response.Body, reply, EchoJsonContext.Default.EchoReply, context.RequestAborted);
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(EchoReply))]
internal sealed partial class EchoJsonContext : JsonSerializerContext;
