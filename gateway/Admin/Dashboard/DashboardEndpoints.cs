namespace AuditGateway.Admin.Dashboard;

/// <summary>
/// <c>GET /</c> (the dashboard page) and <c>GET /ui/{file}</c> (its script modules and style sheet) on the
/// admin listener (docs/dashboard.md). They need no token: the page holds no data, and everything it shows
/// comes from <c>/api/*</c> with the token the user gives it. Every answer carries a strict
/// Content-Security-Policy (only this origin, no inline script or style, no framing), <c>nosniff</c> and
/// no referrer; the page is never cached, the other files are revalidated by ETag.
/// </summary>
internal static class DashboardEndpoints
{
    /// <summary>What the page may load and connect to: its own files and its own API, nothing else.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly string[] GetOrHead = [HttpMethods.Get, HttpMethods.Head];

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods("/", GetOrHead, static context => ServeAsync(context, DashboardAssets.Page, "no-store"));
        endpoints.MapMethods("/ui/{file}", GetOrHead, static context =>
        {
            if (DashboardAssets.Find((string)context.Request.RouteValues["file"]!) is not { } asset)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return ServeAsync(context, asset, "no-cache");
        });
    }

    private static Task ServeAsync(HttpContext context, DashboardAsset asset, string cacheControl)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        headers.CacheControl = cacheControl;
        headers.ETag = asset.ETag;
        if (context.Request.Headers.IfNoneMatch.Any(v => v is not null && v.Split(',').Any(t => t.Trim() == asset.ETag)))
        {
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        context.Response.ContentType = asset.ContentType;
        context.Response.ContentLength = asset.Content.Length;
        return HttpMethods.IsHead(context.Request.Method)
            ? Task.CompletedTask
            : context.Response.Body.WriteAsync(asset.Content, context.RequestAborted).AsTask();
    }
}
