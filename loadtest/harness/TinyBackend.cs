using AuditGateway.Demo;
using Microsoft.AspNetCore.Http;

namespace AuditGateway.LoadTest;

/// <summary>A backend on 127.0.0.1:0 that answers every request with 200, its name and <c>X-Backend: name</c>.</summary>
internal static class TinyBackend
{
    public static Task<LoopbackServer> StartAsync(string name, CancellationToken cancellationToken)
    {
        var body = name + "\n";
        return LoopbackServer.StartAsync(
            app => app.Run(context =>
            {
                context.Response.Headers["X-Backend"] = name;
                return context.Response.WriteAsync(body, context.RequestAborted);
            }),
            cancellationToken: cancellationToken);
    }
}
