using System.Text;
using System.Text.Json;

namespace AuditGateway.Reports;

/// <summary>The output formats of a report (<c>--format</c>, <c>?format=</c>).</summary>
internal enum ReportFormat
{
    Table,
    Json,
    Csv,
    Html,
}

/// <summary>Writes a report in one of the <see cref="ReportFormat"/>s; every format shows the provenance and the same numbers.</summary>
internal static class ReportRenderer
{
    public static ReportFormat? ParseFormat(string? text) =>
        Enum.GetValues<ReportFormat>().Cast<ReportFormat?>().FirstOrDefault(f => f!.Value.ToString().Equals(text, StringComparison.OrdinalIgnoreCase));

    public static string ContentType(ReportFormat format) => format switch
    {
        ReportFormat.Json => "application/json; charset=utf-8",
        ReportFormat.Csv => "text/csv; charset=utf-8",
        ReportFormat.Html => "text/html; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    };

    /// <summary>Renders the <paramref name="kind"/> section of <paramref name="report"/> (built with every section).</summary>
    public static string Render(Report report, ReportKind kind, ReportFormat format)
    {
        var view = report.View(kind);
        return format switch
        {
            ReportFormat.Json => JsonSerializer.Serialize(view, ReportJsonContext.Readable.Report) + "\n",
            ReportFormat.Csv => Csv(view, kind),
            ReportFormat.Html => HtmlReport.Render(report, kind),
            _ => Text(view, kind),
        };
    }

    private static string Text(Report view, ReportKind kind)
    {
        var text = new StringBuilder();
        if (view.Source.BadSeq is { } bad)
        {
            text.Append($"TAMPERED seq={bad} reason={view.Source.Reason}\n");
        }

        var provenance = ReportTable.Provenance(view);
        var width = provenance.Max(p => p.Name.Length);
        foreach (var (name, value) in provenance)
        {
            text.Append((name + ":").PadRight(width + 2)).Append(value).Append('\n');
        }

        foreach (var table in new[] { ReportTable.Of(view, kind), ReportTable.Changes(view) })
        {
            text.Append('\n').Append(table.Title).Append('\n');
            Aligned(text, table);
        }

        return text.ToString();
    }

    private static void Aligned(StringBuilder text, ReportTable table)
    {
        if (table.Rows.Count == 0)
        {
            text.Append("(none)\n");
            return;
        }

        var widths = table.Columns.Select((c, i) => Math.Max(c.Length, table.Rows.Max(r => r[i].Length))).ToArray();
        foreach (var row in table.Rows.Prepend(table.Columns))
        {
            text.Append(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd()).Append('\n');
        }
    }

    /// <summary>RFC 4180 CSV of the section, after <c># name: value</c> lines with the provenance.</summary>
    private static string Csv(Report view, ReportKind kind)
    {
        var text = new StringBuilder();
        foreach (var (name, value) in ReportTable.Provenance(view))
        {
            text.Append("# ").Append(name).Append(": ").Append(value.Replace('\n', ' ')).Append("\r\n");
        }

        var table = ReportTable.Of(view, kind);
        foreach (var row in table.Rows.Prepend(table.Columns))
        {
            text.Append(string.Join(",", row.Select(CsvField))).Append("\r\n");
        }

        return text.ToString();
    }

    private static string CsvField(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n#") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
}
