using System.Net;
using System.Security.Cryptography.X509Certificates;
using AuditGateway.Tests.Grpc.Probe;
using Grpc.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AuditGateway.Tests.Grpc;

/// <summary>
/// A real gRPC service (Grpc.AspNetCore) on Kestrel at <c>127.0.0.1:0</c>, HTTP/2 only: over
/// cleartext (h2c, prior knowledge) or, with a certificate, over TLS.
/// </summary>
internal sealed class ProbeBackend : IAsyncDisposable
{
    /// <summary>
    /// The trailer every call ends with (and a header of every stream): the <c>X-Request-ID</c> the
    /// gateway sent, so a test finds the call's entry.
    /// </summary>
    public const string RequestIdTrailer = "probe-request-id";

    /// <summary>The name <see cref="ProbeService.Echo"/> fails for, with NOT_FOUND.</summary>
    public const string Missing = "missing";

    private readonly WebApplication _app;

    private ProbeBackend(WebApplication app) => _app = app;

    public int Port => new Uri(_app.Urls.First()).Port;

    public static async Task<ProbeBackend> StartAsync(X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l =>
        {
            l.Protocols = HttpProtocols.Http2;
            if (certificate is not null)
            {
                l.UseHttps(certificate);
            }
        }));
        var app = builder.Build();
        app.MapGrpcService<ProbeService>();
        await app.StartAsync();
        return new ProbeBackend(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class ProbeService : Probe.Probe.ProbeBase
    {
        public override Task<EchoReply> Echo(EchoRequest request, ServerCallContext context)
        {
            var id = new Metadata { { RequestIdTrailer, RequestId(context) } };
            if (request.Name == Missing)
            {
                throw new RpcException(new Status(StatusCode.NotFound, $"no probe named {request.Name}"), id);
            }

            context.ResponseTrailers.Add(id[0]);
            return Task.FromResult(new EchoReply { Message = "hello " + request.Name });
        }

        /// <summary><c>count</c> replies; with <c>count</c> negative, -count replies and then waits for the client to cancel.</summary>
        public override async Task Count(CountRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
        {
            await context.WriteResponseHeadersAsync(new Metadata { { RequestIdTrailer, RequestId(context) } });
            for (var i = 0; i < Math.Abs(request.Count); i++)
            {
                await responseStream.WriteAsync(new EchoReply { Message = "reply", Index = i }, context.CancellationToken);
            }

            if (request.Count < 0)
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }

            context.ResponseTrailers.Add(RequestIdTrailer, RequestId(context));
        }

        private static string RequestId(ServerCallContext context) => context.RequestHeaders.GetValue("x-request-id") ?? "";
    }
}
