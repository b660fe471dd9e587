using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using AuditGateway.Routing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AuditGateway.Admin;

/// <summary>The admin listener's endpoints (PRODUCT.md §7). Loopback only until admin auth exists.</summary>
internal static class AdminEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", static context => context.Response.WriteAsync("ok\n"));
        endpoints.MapGet("/readyz", static context =>
        {
            var state = context.RequestServices.GetRequiredService<RoutingState>();
            var ready = new Readiness(state.Synced, state.Synced, state.Current.Revision);
            context.Response.StatusCode = ready.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            return WriteJson(context, ready, AdminJsonContext.Readable.Readiness);
        });
        endpoints.MapGet("/api/routes", static context =>
        {
            var table = context.RequestServices.GetRequiredService<RoutingState>().Current;
            return WriteJson(context, table, AdminJsonContext.Readable.RouteTable);
        });
    }

    /// <summary>Refuses anything but loopback clients.</summary>
    public static IApplicationBuilder UseLoopbackOnly(this IApplicationBuilder app) => app.Use(static (context, next) =>
    {
        if (context.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote))
        {
            return next(context);
        }

        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return context.Response.WriteAsync("403 Forbidden: the admin API only answers loopback clients\n");
    });

    private static Task WriteJson<T>(HttpContext context, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted);
    }
}

internal sealed record Readiness(bool Ready, bool ConfigSynced, string Revision);

/// <summary>Indented JSON for people, with only the escaping JSON requires (no <c>\u0027</c> for quotes).</summary>
[JsonSerializable(typeof(RouteTable))]
[JsonSerializable(typeof(Readiness))]
internal sealed partial class AdminJsonContext : JsonSerializerContext
{
    public static AdminJsonContext Readable { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
