using System.Globalization;
using System.Net;
using System.Text;

namespace AuditGateway.Reports;

/// <summary>
/// A report as one self-contained HTML page: inline CSS and inline SVG charts (latency percentiles
/// over time per route, status classes per route, top clients), no script, and a Content Security
/// Policy that forbids loading anything, so opening it offline makes no request.
/// </summary>
internal static class HtmlReport
{
    private const int Width = 720;
    private const int Height = 220;
    private const int Pad = 40;
    private const int MaxRouteCharts = 20;

    private static readonly (string Name, string Color)[] Percentiles = [("p50", "#2b7bb9"), ("p90", "#e39b1b"), ("p99", "#c53030")];
    private static readonly string[] ClassColors = ["#9e9e9e", "#2f9e44", "#1c7ed6", "#f08c00", "#e03131"];

    public static string Render(Report report, ReportKind kind)
    {
        var view = report.View(kind);
        var html = new StringBuilder();
        html.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            """);
        html.Append("<title>AuditGateway report: ").Append(E(view.Kind)).Append("</title>\n");
        html.Append("""
            <style>
            body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
            h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
            table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
            th{background:#f3f3f3}dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:600}dd{margin:0}
            .tampered{color:#fff;background:#c53030;padding:6px 10px;font-weight:700}
            figure{margin:1em 0}figcaption{font-weight:600}svg text{font-size:10px;fill:#444}
            .diff{font-family:monospace;white-space:pre-wrap;word-break:break-all;max-width:40em}
            </style></head><body>

            """);
        html.Append("<h1>AuditGateway report: ").Append(E(view.Kind)).Append("</h1>\n");
        if (view.Source.BadSeq is { } bad)
        {
            html.Append("<p class=\"tampered\">TAMPERED seq=").Append(bad).Append(" reason=").Append(E(view.Source.Reason ?? "")).Append("</p>\n");
        }

        html.Append("<h2>Computed from</h2>\n<dl id=\"source\">\n");
        foreach (var (name, value) in ReportTable.Provenance(view))
        {
            html.Append("<dt>").Append(E(name)).Append("</dt><dd>").Append(E(value)).Append("</dd>\n");
        }

        html.Append("</dl>\n");
        Table(html, "report", ReportTable.Of(view, kind));
        Charts(html, report);
        Table(html, "changes", ReportTable.Changes(view));
        html.Append("</body></html>\n");
        return html.ToString();
    }

    private static void Table(StringBuilder html, string id, ReportTable table)
    {
        html.Append("<h2>").Append(E(table.Title)).Append("</h2>\n<table id=\"").Append(id).Append("\"><thead><tr>");
        foreach (var column in table.Columns)
        {
            html.Append("<th>").Append(E(column)).Append("</th>");
        }

        html.Append("</tr></thead><tbody>\n");
        foreach (var row in table.Rows)
        {
            html.Append("<tr>");
            for (var i = 0; i < row.Count; i++)
            {
                html.Append(table.Columns[i] == "diff" ? "<td class=\"diff\">" : "<td>").Append(E(row[i])).Append("</td>");
            }

            html.Append("</tr>\n");
        }

        html.Append("</tbody></table>\n");
    }

    private static void Charts(StringBuilder html, Report report)
    {
        var routes = (report.Routes ?? []).OrderByDescending(r => r.Requests).ThenBy(r => r.Route, StringComparer.Ordinal).ToList();
        html.Append("<h2>Charts</h2>\n");
        if (report.Slices is { } slices)
        {
            // The x axis spans the slices that hold requests, of any route.
            var span = Math.Max(1, routes.SelectMany(r => r.Timeline).Max(p => (p.Start - slices.Start).TotalMilliseconds));
            foreach (var route in routes.Take(MaxRouteCharts))
            {
                LatencyChart(html, route, slices, span);
            }
        }

        StatusChart(html, routes);
        ClientChart(html, report.Clients ?? []);
    }

    /// <summary>p50, p90 and p99 of the total latency per time slice, one line each.</summary>
    private static void LatencyChart(StringBuilder html, RouteReport route, SliceInfo slices, double span)
    {
        var points = route.Timeline;
        var top = Math.Max(1, points.Max(p => p.P99));
        Figure(html, "latency", $"Latency over time (µs; slices of {slices.Milliseconds} ms from {ReportTable.Time(slices.Start)}): {route.Route}");
        Axes(html, top);
        double X(TimeSlice p) => Pad + ((Width - (2 * Pad)) * (p.Start - slices.Start).TotalMilliseconds / span);
        double Y(long v) => Height - Pad - ((Height - (2 * Pad)) * (double)v / top);
        var legend = Pad;
        foreach (var (name, color) in Percentiles)
        {
            var path = new StringBuilder();
            foreach (var p in points)
            {
                path.Append(path.Length == 0 ? 'M' : 'L').Append(F(X(p))).Append(',').Append(F(Y(Pick(p, name)))).Append(' ');
            }

            html.Append("<path fill=\"none\" stroke=\"").Append(color).Append("\" stroke-width=\"1.5\" d=\"").Append(path.ToString().TrimEnd()).Append("\"/>\n");
            foreach (var p in points)
            {
                var value = Pick(p, name);
                html.Append("<circle r=\"2\" fill=\"").Append(color).Append("\" cx=\"").Append(F(X(p))).Append("\" cy=\"").Append(F(Y(value))).Append("\"><title>")
                    .Append(ReportTable.Time(p.Start)).Append(' ').Append(name).Append(": ").Append(value).Append(" µs (").Append(p.Requests).Append(" requests)</title></circle>\n");
            }

            html.Append("<rect x=\"").Append(legend).Append("\" y=\"8\" width=\"10\" height=\"10\" fill=\"").Append(color).Append("\"/><text x=\"")
                .Append(legend + 14).Append("\" y=\"17\">").Append(name).Append("</text>\n");
            legend += 50;
        }

        html.Append("</svg></figure>\n");
    }

    /// <summary>Requests per route, one bar stacked by status class.</summary>
    private static void StatusChart(StringBuilder html, List<RouteReport> routes)
    {
        Figure(html, "statuses", "Status classes per route", Math.Max(Height, Pad + (routes.Count * 22) + Pad));
        var most = Math.Max(1, routes.Select(r => r.Requests).DefaultIfEmpty(0).Max());
        var y = Pad;
        foreach (var route in routes)
        {
            long[] classes = [route.Statuses.S1xx, route.Statuses.S2xx, route.Statuses.S3xx, route.Statuses.S4xx, route.Statuses.S5xx];
            double x = 200;
            for (var i = 0; i < classes.Length; i++)
            {
                var w = (Width - 200 - Pad) * (double)classes[i] / most;
                if (classes[i] > 0)
                {
                    html.Append("<rect x=\"").Append(F(x)).Append("\" y=\"").Append(y).Append("\" width=\"").Append(F(w)).Append("\" height=\"16\" fill=\"").Append(ClassColors[i])
                        .Append("\"><title>").Append(E(route.Route)).Append(' ').Append(i + 1).Append("xx: ").Append(classes[i]).Append("</title></rect>\n");
                }

                x += w;
            }

            html.Append("<text x=\"4\" y=\"").Append(y + 12).Append("\">").Append(E(Short(route.Route))).Append("</text>\n");
            y += 22;
        }

        for (var i = 0; i < ClassColors.Length; i++)
        {
            html.Append("<rect x=\"").Append(200 + (i * 50)).Append("\" y=\"8\" width=\"10\" height=\"10\" fill=\"").Append(ClassColors[i]).Append("\"/><text x=\"")
                .Append(214 + (i * 50)).Append("\" y=\"17\">").Append(i + 1).Append("xx</text>\n");
        }

        html.Append("</svg></figure>\n");
    }

    /// <summary>The ten clients with the most requests.</summary>
    private static void ClientChart(StringBuilder html, IReadOnlyList<ClientReport> clients)
    {
        var top = clients.OrderByDescending(c => c.Requests).ThenBy(c => c.Client, StringComparer.Ordinal).Take(10).ToList();
        Figure(html, "clients", "Top clients by requests");
        var most = Math.Max(1, top.Select(c => c.Requests).DefaultIfEmpty(0).Max());
        var y = Pad / 2;
        foreach (var client in top)
        {
            var w = (Width - 200 - Pad) * (double)client.Requests / most;
            html.Append("<rect x=\"200\" y=\"").Append(y).Append("\" width=\"").Append(F(w)).Append("\" height=\"14\" fill=\"#2b7bb9\"><title>")
                .Append(E(client.Client)).Append(": ").Append(client.Requests).Append("</title></rect>\n");
            html.Append("<text x=\"4\" y=\"").Append(y + 11).Append("\">").Append(E(client.Client)).Append("</text><text x=\"").Append(F(204 + w)).Append("\" y=\"")
                .Append(y + 11).Append("\">").Append(client.Requests).Append("</text>\n");
            y += 18;
        }

        html.Append("</svg></figure>\n");
    }

    private static void Figure(StringBuilder html, string chart, string caption, int height = Height) =>
        html.Append("<figure data-chart=\"").Append(chart).Append("\"><figcaption>").Append(E(caption)).Append("</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"")
            .Append(Width).Append("\" height=\"").Append(height).Append("\" viewBox=\"0 0 ").Append(Width).Append(' ').Append(height).Append("\" role=\"img\">\n");

    private static void Axes(StringBuilder html, long top)
    {
        html.Append("<path stroke=\"#888\" fill=\"none\" d=\"M").Append(Pad).Append(',').Append(Pad).Append(" L").Append(Pad).Append(',').Append(Height - Pad)
            .Append(" L").Append(Width - Pad).Append(',').Append(Height - Pad).Append("\"/>\n");
        html.Append("<text x=\"2\" y=\"").Append(Pad + 4).Append("\">").Append(top).Append("</text><text x=\"2\" y=\"").Append(Height - Pad).Append("\">0</text>\n");
    }

    private static long Pick(TimeSlice slice, string percentile) => percentile switch
    {
        "p50" => slice.P50,
        "p90" => slice.P90,
        _ => slice.P99,
    };

    private static string Short(string text) => text.Length <= 30 ? text : "…" + text[^29..];

    private static string F(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
