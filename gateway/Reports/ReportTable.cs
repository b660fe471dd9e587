using System.Globalization;

namespace AuditGateway.Reports;

/// <summary>
/// A report's section as one table of text cells: the table, CSV and HTML formats all render this,
/// so their numbers are the same by construction. Latencies are in microseconds; a list cell is
/// <c>name=count</c> pairs separated by <c>;</c>.
/// </summary>
internal sealed record ReportTable(string Title, IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows)
{
    private static readonly string[] LatencyColumns = ["p50Us", "p90Us", "p95Us", "p99Us", "maxUs"];

    public static ReportTable Of(Report report, ReportKind kind) => kind switch
    {
        ReportKind.Routes => new(
            "routes",
            ["route", "requests", "1xx", "2xx", "3xx", "4xx", "5xx", "denied", "wouldDeny",
                .. LatencyColumns, .. LatencyColumns.Select(c => "upstream" + Capital(c)), .. LatencyColumns.Select(c => "overhead" + Capital(c)),
                "bytesIn", "bytesOut", "denialsByRule", "topIdentities", "topClients"],
            [.. (report.Routes ?? []).Select(r => (IReadOnlyList<string>)[
                r.Route, N(r.Requests), N(r.Statuses.S1xx), N(r.Statuses.S2xx), N(r.Statuses.S3xx), N(r.Statuses.S4xx), N(r.Statuses.S5xx), N(r.Denied), N(r.WouldDeny),
                .. Latency(r.Latency), .. Latency(r.Upstream), .. Latency(r.Overhead),
                N(r.BytesIn), N(r.BytesOut), List(r.DenialsByRule), List(r.TopIdentities), List(r.TopClients)])]),
        ReportKind.Identities => new(
            "identities",
            ["identity", "requests", "denied", "routes"],
            [.. (report.Identities ?? []).Select(i => (IReadOnlyList<string>)[i.Identity, N(i.Requests), N(i.Denied), List(i.Routes)])]),
        ReportKind.Clients => new(
            "clients",
            ["client", "requests", "denied", "blocks"],
            [.. (report.Clients ?? []).Select(c => (IReadOnlyList<string>)[c.Client, N(c.Requests), N(c.Denied), N(c.Blocks)])]),
        _ => new(
            "statuses",
            ["status", "class", "requests", "denied"],
            [.. (report.Statuses ?? []).Select(s => (IReadOnlyList<string>)[N(s.Status), s.Class, N(s.Requests), N(s.Denied)])]),
    };

    /// <summary>The config-change timeline.</summary>
    public static ReportTable Changes(Report report) => new(
        "config changes",
        ["time", "seq", "actor", "via", "source", "object", "operation", "effect", "errors", "diff"],
        [.. (report.Changes ?? []).Select(c => (IReadOnlyList<string>)[
            Time(c.Time), N(c.Seq), c.Actor, c.Via, c.Source, c.Object, c.Operation, c.Effect, string.Join("; ", c.Errors), c.Diff])]);

    /// <summary>The provenance as name/value pairs, the same in every format.</summary>
    public static IReadOnlyList<(string Name, string Value)> Provenance(Report report)
    {
        var s = report.Source;
        List<(string, string)> lines =
        [
            ("report", report.Kind),
            ("source", s.Mode),
            ("from", s.From is { } f ? Time(f) : "(start of the log)"),
            ("to", s.To is { } t ? Time(t) : "(end of the log)"),
            ("seq range read", s.FirstSeq is { } first ? $"{N(first)}..{N(s.LastSeq!.Value)}" : "(none)"),
            ("entries read", N(s.EntriesRead)),
            ("entries included", N(s.EntriesIncluded)),
            ("checkpoint", s.Checkpoint is { } c ? $"{c.Origin} size={N(c.Size)} root={c.Root}" : "(none)"),
            ("entries after checkpoint", N(s.EntriesAfterCheckpoint)),
            ("verification", s.BadSeq is { } bad ? $"{s.Verification} seq={N(bad)} reason={s.Reason}" : s.Verification),
        ];
        if (s.Mode == "rollups")
        {
            lines.Add(("rollup blocks", N(s.RollupBlocks ?? 0)));
            lines.Add(("entries scanned", N(s.EntriesScanned ?? 0)));
            lines.Add(("note", "merged from rollups, which auditgw verify checks against the log; --verify reads and verifies every entry"));
            lines.Add(("top lists", "merged from each minute's top 10 identities and clients per route and top 100 clients: approximate"));
        }

        if (s.Mode == "live")
        {
            lines.Add(("entries missed", N(s.EntriesMissed)));
        }

        if (s.Capped)
        {
            lines.Add(("capped", "some keys past the cap are counted under (other)"));
        }

        return lines;
    }

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private static string Capital(string column) => char.ToUpperInvariant(column[0]) + column[1..];

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string[] Latency(LatencyStats l) => [N(l.P50), N(l.P90), N(l.P95), N(l.P99), N(l.Max)];

    private static string List(IReadOnlyList<Tally> tallies) => string.Join(";", tallies.Select(t => $"{t.Name}={N(t.Count)}"));
}
