using System.Security.Cryptography;
using AuditGateway.Configuration;
using AuditGateway.Audit;
using AuditGateway.Audit.Notes;
using AuditGateway.Reports;

namespace AuditGateway.Admin;

/// <summary>
/// <c>GET /api/reports/{routes,identities,clients,statuses}?from&amp;to[&amp;format=json|csv|html|table][&amp;live=true][&amp;verify=true|&amp;rollups=true]</c>:
/// a report computed from the log directory, verified while read (409 with the report saying TAMPERED
/// when it does not verify); routes and statuses of a log of more than a million entries, or with
/// <c>rollups=true</c>, from the per-minute rollups (not verified) unless <c>verify=true</c>; or with
/// <c>live=true</c> the one kept in memory since start.
/// Each read is audited before it is answered.
/// </summary>
internal static class ReportEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints) => endpoints.MapGet("/api/reports/{kind}", static async context =>
    {
        var name = (string?)context.Request.RouteValues["kind"];
        if (Report.Parse(name) is not { } kind)
        {
            await Answer(context, StatusCodes.Status404NotFound, $"404 Not Found: no report '{name}' (routes, identities, clients, statuses)");
            return;
        }

        var query = context.Request.Query;
        var time = context.RequestServices.GetRequiredService<TimeProvider>();
        var format = query["format"].Count == 0 ? ReportFormat.Json : ReportRenderer.ParseFormat(query["format"]);
        var live = query["live"] == "true";
        var source = query["verify"] == "true" ? ReportSourceChoice.Verify : query["rollups"] == "true" ? ReportSourceChoice.Rollups : ReportSourceChoice.Auto;
        var fromProblem = TimeArgument.Problem("from", query["from"], time, out var from);
        var toProblem = TimeArgument.Problem("to", query["to"], time, out var to);
        var problem = (format is null ? $"format '{query["format"]}' is not json, csv, html or table" : null)
            ?? fromProblem
            ?? toProblem
            ?? (live && (from is not null || to is not null) ? "live=true reports cover the time since start: from and to do not apply" : null);
        if (problem is not null)
        {
            await Answer(context, StatusCodes.Status400BadRequest, "400 Bad Request: " + problem);
            return;
        }

        await context.RequestServices.GetRequiredService<AdminReads>().RecordAsync(context, "report " + name + (live ? " (live)" : ""));
        Report report;
        if (live)
        {
            report = context.RequestServices.GetRequiredService<LiveReports>().Snapshot();
        }
        else
        {
            var options = context.RequestServices.GetRequiredService<AuditOptions>();
            try
            {
                report = await Task.Run(() => FromLog(options, from, to, kind, source), context.RequestAborted);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or CryptographicException)
            {
                await Answer(context, StatusCodes.Status500InternalServerError, "500 Internal Server Error: the log could not be read: " + e.Message);
                return;
            }
        }

        context.Response.StatusCode = report.Source.BadSeq is null ? StatusCodes.Status200OK : StatusCodes.Status409Conflict;
        context.Response.ContentType = ReportRenderer.ContentType(format!.Value);
        await context.Response.WriteAsync(ReportRenderer.Render(report, kind, format.Value), context.RequestAborted);
    });

    private static Report FromLog(AuditOptions options, DateTimeOffset? from, DateTimeOffset? to, ReportKind kind, ReportSourceChoice source)
    {
        using var key = SigningKeys.Load(options.ResolvedSigningKeyPath);
        return LogReport.Compute(options.DataDirectory, key, from, to, kind, source, new ReportLimits());
    }

    private static Task Answer(HttpContext context, int status, string line)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsync(line + "\n");
    }
}
