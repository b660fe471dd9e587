using System.Text.Json.Serialization;

namespace AuditGateway.Reports;

/// <summary>Which table a report shows (<c>--by</c>, and the last segment of <c>/api/reports/…</c>).</summary>
internal enum ReportKind
{
    Routes,
    Identities,
    Clients,
    Statuses,
}

/// <summary>
/// A report: what it was computed from, the table of its kind and the config-change timeline. Only
/// the section of <see cref="Kind"/> is filled when it is written out (<see cref="View"/>); the
/// HTML page also charts the others.
/// </summary>
internal sealed record Report
{
    public required string Kind { get; init; }

    public required ReportSource Source { get; init; }

    /// <summary>The time slices of the routes' timelines; null when no request was included.</summary>
    public SliceInfo? Slices { get; init; }

    public IReadOnlyList<RouteReport>? Routes { get; init; }

    public IReadOnlyList<IdentityReport>? Identities { get; init; }

    public IReadOnlyList<ClientReport>? Clients { get; init; }

    public IReadOnlyList<StatusReport>? Statuses { get; init; }

    public IReadOnlyList<ChangeReport>? Changes { get; init; }

    /// <summary>This report with only the section of <paramref name="kind"/> (and the changes).</summary>
    public Report View(ReportKind kind) => this with
    {
        Kind = Name(kind),
        Slices = kind == ReportKind.Routes ? Slices : null,
        Routes = kind == ReportKind.Routes ? Routes : null,
        Identities = kind == ReportKind.Identities ? Identities : null,
        Clients = kind == ReportKind.Clients ? Clients : null,
        Statuses = kind == ReportKind.Statuses ? Statuses : null,
    };

    public static string Name(ReportKind kind) => kind.ToString().ToLowerInvariant();

    public static ReportKind? Parse(string? text) =>
        Enum.GetValues<ReportKind>().Cast<ReportKind?>().FirstOrDefault(k => Name(k!.Value) == text);
}

/// <summary>
/// What a report was computed from, so an auditor can recompute it: the log (or the live feed), the
/// seq range read, how many entries were read and included, the signed checkpoint the entries were
/// verified against and the verification's result.
/// </summary>
internal sealed record ReportSource
{
    /// <summary>
    /// <c>log</c> (read and verified from the data directory), <c>rollups</c> (merged from the per-minute
    /// rollups beside the log, not verified) or <c>live</c> (the gateway's entries since it started, in memory).
    /// </summary>
    public required string Mode { get; init; }

    public DateTimeOffset? From { get; init; }

    public DateTimeOffset? To { get; init; }

    /// <summary>The first and last seq read (the whole log is read to verify it); null when nothing was read.</summary>
    public long? FirstSeq { get; init; }

    public long? LastSeq { get; init; }

    public long EntriesRead { get; init; }

    /// <summary>Entries whose <c>ts</c> is in [from, to).</summary>
    public long EntriesIncluded { get; init; }

    /// <summary>The latest signed checkpoint (<c>checkpoints/latest</c>) when the reading began.</summary>
    public CheckpointInfo? Checkpoint { get; init; }

    /// <summary>Entries read past that checkpoint: their chain was checked, no signature covers them yet.</summary>
    public long EntriesAfterCheckpoint { get; init; }

    /// <summary>Live: entries the live feed dropped because the reader fell behind (the log keeps them).</summary>
    public long EntriesMissed { get; init; }

    /// <summary>Mode <c>rollups</c>: the rollup blocks merged (each up to 65,536 entries).</summary>
    public long? RollupBlocks { get; init; }

    /// <summary>Mode <c>rollups</c>: entries read from the log (minutes the range cuts, the newest entries no rollup holds yet).</summary>
    public long? EntriesScanned { get; init; }

    /// <summary><c>intact</c>, <c>TAMPERED</c>, or <c>not verified</c> (live, rollups).</summary>
    public required string Verification { get; init; }

    public long? BadSeq { get; init; }

    public string? Reason { get; init; }

    /// <summary>Keys past the cap on tracked identities, clients or routes were counted under <c>(other)</c>.</summary>
    public bool Capped { get; init; }

    public const string Intact = "intact";
    public const string Tampered = "TAMPERED";
    public const string NotVerified = "not verified";
}

/// <summary>A signed checkpoint: origin, tree size and root (base64, as in the note).</summary>
internal sealed record CheckpointInfo(string Origin, long Size, string Root);

/// <summary>The routes' timelines: up to <see cref="SliceGrid.MaxSlices"/> slices of <see cref="Milliseconds"/> from <see cref="Start"/>.</summary>
internal sealed record SliceInfo(DateTimeOffset Start, long Milliseconds);

/// <summary>Latency percentiles and maximum, in microseconds, of <see cref="Count"/> requests.</summary>
internal sealed record LatencyStats(long Count, long P50, long P90, long P95, long P99, long Max)
{
    public static LatencyStats Of(LatencySketch sketch) => new(
        sketch.Count, sketch.Quantile(0.50), sketch.Quantile(0.90), sketch.Quantile(0.95), sketch.Quantile(0.99), sketch.Count == 0 ? 0 : sketch.Max);
}

/// <summary>Requests by status class.</summary>
internal sealed record StatusClasses(
    [property: JsonPropertyName("1xx")] long S1xx,
    [property: JsonPropertyName("2xx")] long S2xx,
    [property: JsonPropertyName("3xx")] long S3xx,
    [property: JsonPropertyName("4xx")] long S4xx,
    [property: JsonPropertyName("5xx")] long S5xx);

/// <summary>A name and how often it was seen.</summary>
internal sealed record Tally(string Name, long Count);

/// <summary>One time slice of a route's timeline: requests started in it and their total latency.</summary>
internal sealed record TimeSlice(DateTimeOffset Start, long Requests, long P50, long P90, long P99, long Max);

/// <summary>One route (<c>(no route)</c> for requests that matched none).</summary>
internal sealed record RouteReport(
    string Route,
    long Requests,
    StatusClasses Statuses,
    long Denied,
    long WouldDeny,
    IReadOnlyList<Tally> DenialsByRule,
    LatencyStats Latency,
    LatencyStats Upstream,
    LatencyStats Overhead,
    long BytesIn,
    long BytesOut,
    IReadOnlyList<Tally> TopIdentities,
    IReadOnlyList<Tally> TopClients,
    IReadOnlyList<TimeSlice> Timeline);

/// <summary>One identity: the JWT subject (<c>(anonymous)</c> without a validated token).</summary>
internal sealed record IdentityReport(string Identity, long Requests, long Denied, IReadOnlyList<Tally> Routes);

/// <summary>One client address: requests, denials, and blocks (security <c>blocked</c> entries naming it).</summary>
internal sealed record ClientReport(string Client, long Requests, long Denied, long Blocks);

/// <summary>One status code.</summary>
internal sealed record StatusReport(int Status, string Class, long Requests, long Denied);

/// <summary>One config change: when, who, what object, and the JSON Patch.</summary>
internal sealed record ChangeReport(
    long Seq,
    DateTimeOffset Time,
    string Actor,
    string Via,
    string Source,
    string Object,
    string Operation,
    string Effect,
    string Diff,
    IReadOnlyList<string> Errors);
