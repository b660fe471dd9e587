using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AuditGateway.ControlPlane.Attribution;
using AuditGateway.Policy.Identity;

namespace AuditGateway.Admin;

/// <summary>
/// The apiserver-facing endpoints of the admin listener in cluster mode (docs/admin-api.md):
/// <c>POST /k8s/admission</c> is authenticated by TLS (the apiserver trusts our certificate via
/// the webhook's caBundle; no bearer token), <c>POST /k8s/audit</c> by a bearer token — the one
/// whose SHA-256 is <c>admin.auditWebhookToken</c>, else any admin token or JWT.
/// </summary>
internal static class WebhookEndpoints
{
    /// <summary>The largest body accepted (the apiserver's default audit batch limit is 10 MB).</summary>
    public const long MaxBody = 10 * 1024 * 1024;

    public static void Map(IEndpointRouteBuilder endpoints, string? auditTokenSha256)
    {
        endpoints.MapPost("/k8s/admission", static async context =>
        {
            var webhook = context.RequestServices.GetRequiredService<AdmissionWebhook>();
            AdmissionReview? review;
            try
            {
                review = await JsonSerializer.DeserializeAsync(context.Request.Body, WebhookJsonContext.Default.AdmissionReview, context.RequestAborted);
                review = await webhook.ReviewAsync(review ?? throw new JsonException("empty body"));
            }
            catch (JsonException e)
            {
                await BadRequestAsync(context, "not an admission.k8s.io/v1 AdmissionReview: " + e.Message);
                return;
            }

            context.Response.ContentType = "application/json";
            await JsonSerializer.SerializeAsync(context.Response.Body, review, WebhookJsonContext.Default.AdmissionReview, context.RequestAborted);
        });

        endpoints.MapPost("/k8s/audit", async context =>
        {
            if (!await AuthorizedAsync(context, auditTokenSha256))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer realm=\"auditgateway-audit-webhook\"";
                await context.Response.WriteAsync("401 Unauthorized: the audit webhook token is required\n");
                return;
            }

            IReadOnlyList<AuditEvent> events;
            try
            {
                using var buffer = new MemoryStream();
                await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
                events = AuditEvents.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
            }
            catch (JsonException e)
            {
                await BadRequestAsync(context, "not an audit.k8s.io/v1 EventList: " + e.Message);
                return;
            }

            context.RequestServices.GetRequiredService<AuditWebhook>().Receive(events);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{}");
        });
    }

    private static async Task<bool> AuthorizedAsync(HttpContext context, string? auditTokenSha256)
    {
        var header = context.Request.Headers.Authorization.Count == 1 ? context.Request.Headers.Authorization[0] : null;
        if (auditTokenSha256 is null)
        {
            var principal = await context.RequestServices.GetRequiredService<AdminAuthenticator>().AuthenticateAsync(header, context.RequestAborted);
            return principal.IsAuthenticated;
        }

        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(header[7..].Trim()));
        var expected = Convert.FromHexString(auditTokenSha256);
        return CryptographicOperations.FixedTimeEquals(hash, expected);
    }

    private static Task BadRequestAsync(HttpContext context, string message)
    {
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        return context.Response.WriteAsync("400 Bad Request: " + message + "\n");
    }
}
