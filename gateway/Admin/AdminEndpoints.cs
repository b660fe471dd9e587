using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using AuditGateway.Audit;
using AuditGateway.ControlPlane;
using AuditGateway.Policy;
using AuditGateway.Policy.Identity;
using AuditGateway.Redis;
using AuditGateway.Routing;

namespace AuditGateway.Admin;

/// <summary>
/// The admin listener's endpoints (docs/admin-api.md). <c>/healthz</c> and <c>/readyz</c> are open;
/// everything under <c>/api/</c> needs an admin token or JWT with the auditor role, and
/// changes need the operator role.
/// </summary>
internal static class AdminEndpoints
{
    private const string PrincipalKey = "auditgw.admin";

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        LogEndpoints.Map(endpoints);
        endpoints.MapGet("/healthz", static context => context.Response.WriteAsync("ok\n"));
        endpoints.MapGet("/readyz", static context =>
        {
            var state = context.RequestServices.GetRequiredService<RoutingState>();
            var log = context.RequestServices.GetRequiredService<IAuditLog>().Availability;
            var problem = log.Problem;
            var disk = log.DiskUsedRatio();
            List<string> warnings = [];
            if (disk > LogAvailability.DiskWarningRatio)
            {
                warnings.Add($"the data volume is {disk:P0} full: archive or prune segments, or grow the volume, before the audit log fills it");
            }

            if (context.RequestServices.GetRequiredService<ConfigPipeline>().Pending is { } pending)
            {
                warnings.Add(string.Create(
                    CultureInfo.InvariantCulture,
                    $"a config change ({pending.Objects}) has not taken effect since {pending.Since:yyyy-MM-ddTHH:mm:ssZ} ({pending.Attempts} failed attempts, last: {pending.Error}); the previous configuration stays in force, later changes wait, and it is retried"));
            }

            RedisReadiness? redis = null;
            if (context.RequestServices.GetService<RedisLink>() is { } link)
            {
                redis = new RedisReadiness(link.Options.Url!, link.IsUp, link.IsUp ? null : link.DownSince, link.DownReason, link.Replicas, context.RequestServices.GetService<CheckpointWitness>()?.Agreement);
                if (redis.Witness is { Agrees: false } disagreement)
                {
                    warnings.Add($"the checkpoint witness disagrees: {disagreement.Problem}");
                }

                if (link.Outage is { } outage)
                {
                    warnings.Add(string.Create(
                        CultureInfo.InvariantCulture,
                        $"degraded: {outage}; serving on local state (rate limits at limit ÷ {link.Replicas}, blocks not shared) and catching up when it answers"));
                }
            }

            var ready = new Readiness(state.Synced && problem is null, state.Synced, problem is null, problem, log.Since, disk is { } d ? Math.Round(d, 4) : null, warnings, state.Current.Revision, redis);
            context.Response.StatusCode = ready.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            return WriteJson(context, ready, AdminJsonContext.Readable.Readiness);
        });
        ReportEndpoints.Map(endpoints);
        endpoints.MapGet("/api/replicas/live", static async context =>
        {
            if (context.RequestServices.GetService<ReplicaViews>() is not { } views)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                await context.Response.WriteAsync("404 Not Found: a single node: redis.connection is not set (docs/replicas.md)\n");
                return;
            }

            await context.RequestServices.GetRequiredService<AdminReads>().RecordAsync(context, "report routes (live, all replicas)");
            var (reports, unavailable) = await views.LiveRoutesAsync();
            context.Response.ContentType = "application/json; charset=utf-8";
            var why = unavailable is null ? "" : ",\"unavailable\":" + JsonSerializer.Serialize(unavailable, ReplicaJsonContext.Default.String);
            await context.Response.WriteAsync("{\"replicas\":[" + string.Join(",", reports) + "]" + why + "}\n");
        });
        endpoints.MapGet("/api/routes", static context =>
        {
            var table = context.RequestServices.GetRequiredService<RoutingState>().Current;
            return WriteJson(context, table, AdminJsonContext.Readable.RouteTable);
        });
        endpoints.MapGet("/api/session", static async context =>
        {
            var principal = (AdminPrincipal)context.Items[PrincipalKey]!;
            var session = await context.RequestServices.GetRequiredService<AdminReads>().OpenSessionAsync(context);
            var role = principal.Has(AdminRole.Operator) ? "operator" : "auditor";
            await WriteJson(context, new SessionView(principal.Name!, role, session), AdminJsonContext.Readable.SessionView);
        });
        endpoints.MapGet("/api/blocks", static context =>
        {
            var blocks = context.RequestServices.GetRequiredService<IBlockList>().List();
            var view = blocks.Select(b => new BlockView(b.Address.ToString(), b.BlockedAt, b.ExpiresAt, b.Detector, b.Evidence)).ToList();
            return WriteJson(context, view, AdminJsonContext.Readable.ListBlockView);
        });
        endpoints.MapDelete("/api/blocks/{ip}", static context =>
        {
            var text = (string)context.Request.RouteValues["ip"]!;
            if (!IPAddress.TryParse(text, out var address))
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return context.Response.WriteAsync($"400 Bad Request: '{text}' is not an IP address\n");
            }

            var by = PrincipalName(context);
            var removed = context.RequestServices.GetRequiredService<IBlockList>().Unblock(address, $"admin:{by}");
            context.Response.StatusCode = removed ? StatusCodes.Status204NoContent : StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
    }

    /// <summary>Authenticates <c>/api/*</c>: 401 without valid credentials, 403 without the role.</summary>
    public static IApplicationBuilder UseAdminAuthentication(this IApplicationBuilder app) => app.Use(static async (context, next) =>
    {
        if (!context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal))
        {
            await next(context);
            return;
        }

        var authenticator = context.RequestServices.GetRequiredService<AdminAuthenticator>();
        var header = context.Request.Headers.Authorization.Count == 1 ? context.Request.Headers.Authorization[0] : null;
        var principal = await authenticator.AuthenticateAsync(header, context.RequestAborted);
        var needed = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) ? AdminRole.Auditor : AdminRole.Operator;
        if (!principal.IsAuthenticated)
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"auditgateway-admin\"";
            await context.Response.WriteAsync($"401 Unauthorized: {principal.Problem ?? "an admin token is required"}\n");
            return;
        }

        if (!principal.Has(needed))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await context.Response.WriteAsync($"403 Forbidden: this needs the {needed.ToString().ToLowerInvariant()} role\n");
            return;
        }

        context.Items[PrincipalKey] = principal;
        await next(context);
    });

    /// <summary>The authenticated admin caller's name (<c>unknown</c> outside <c>/api/</c>).</summary>
    public static string PrincipalName(HttpContext context) => (context.Items[PrincipalKey] as AdminPrincipal)?.Name ?? "unknown";

    private static Task WriteJson<T>(HttpContext context, T value, JsonTypeInfo<T> type)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted);
    }
}

/// <summary>What <c>/readyz</c> says: ready only with the config synced and the log writable; why not otherwise.</summary>
internal sealed record Readiness(
    bool Ready,
    bool ConfigSynced,
    bool LogWritable,
    string? LogProblem,
    DateTimeOffset? LogUnwritableSince,
    double? DiskUsedRatio,
    IReadOnlyList<string> Warnings,
    string Revision,
    RedisReadiness? Redis);

/// <summary>With <c>redis.connection</c> set: whether the shared Redis answers (down: degraded, serving on local state).</summary>
/// <param name="Witness">What this node last saw of its checkpoint witness in Redis (null before its first publish).</param>
internal sealed record RedisReadiness(string Url, bool Up, DateTimeOffset? DownSince, string? Reason, int Replicas, WitnessAgreement? Witness);

/// <summary>What <c>GET /api/session</c> answers: who the caller is, with which role, and a new dashboard session id.</summary>
internal sealed record SessionView(string Name, string Role, string Session);

internal sealed record BlockView(string Address, DateTimeOffset BlockedAt, DateTimeOffset ExpiresAt, string Detector, string Evidence);

/// <summary>Indented JSON for people, with only the escaping JSON requires (no <c>\u0027</c> for quotes).</summary>
[JsonSerializable(typeof(RouteTable))]
[JsonSerializable(typeof(Readiness))]
[JsonSerializable(typeof(List<BlockView>))]
[JsonSerializable(typeof(SessionView))]
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
