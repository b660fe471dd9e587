using System.Text.Json.Serialization;

namespace AuditGateway.Reports;

/// <summary>
/// The rollup of one block of the log: <see cref="RollupStore.BlockSize"/> consecutive seqs (the first
/// block of a pruned log begins where the log does), aggregated per minute of <c>ts</c> and per route.
/// Derived data, written once the block is durable: <c>auditgw verify</c> recomputes every rollup from
/// the entries and compares, and a missing or unreadable one is rebuilt from the log.
/// </summary>
internal sealed record RollupFile
{
    public const int CurrentVersion = 1;

    public required int Version { get; init; }

    /// <summary>The node whose log this summarises (a rollup copied from another node's data is rebuilt).</summary>
    public required string Node { get; init; }

    public required long FirstSeq { get; init; }

    /// <summary>One past the last seq of the block.</summary>
    public required long EndSeq { get; init; }

    /// <summary>The minutes that have entries in the block, oldest first.</summary>
    public required IReadOnlyList<MinuteRollup> Minutes { get; init; }
}

/// <summary>
/// The entries of one block whose <c>ts</c> falls in one minute: their seq range (to read them again
/// when a report's range begins or ends inside the minute), per route and per status, and the config changes.
/// </summary>
internal sealed record MinuteRollup
{
    /// <summary>Minutes since the Unix epoch (UTC).</summary>
    public required long Minute { get; init; }

    public required long FirstSeq { get; init; }

    public required long LastSeq { get; init; }

    /// <summary>Entries of every kind.</summary>
    public required long Entries { get; init; }

    public required IReadOnlyList<RouteRollup> Routes { get; init; }

    public required IReadOnlyList<StatusRollup> Statuses { get; init; }

    /// <summary>Security <c>blocked</c> entries, by client.</summary>
    public required IReadOnlyList<Tally> Blocks { get; init; }

    /// <summary>The <see cref="RollupBuilder.TopClients"/> clients with the most requests in the minute.</summary>
    public required IReadOnlyList<ClientRollup> Clients { get; init; }

    public required IReadOnlyList<ChangeReport> Changes { get; init; }

    [JsonIgnore]
    public DateTimeOffset Start => DateTimeOffset.FromUnixTimeSeconds(Minute * 60);
}

/// <summary>
/// One route in one minute: requests, status classes (1xx..5xx), denials by rule, bytes, latency
/// sketches (total, upstream, overhead), and the top identities and clients of that minute.
/// </summary>
internal sealed record RouteRollup(
    string Route,
    long Requests,
    long[] Classes,
    long Denied,
    long WouldDeny,
    IReadOnlyList<Tally> Rules,
    long BytesIn,
    long BytesOut,
    SketchData Total,
    SketchData Upstream,
    SketchData Overhead,
    IReadOnlyList<Tally> TopIdentities,
    IReadOnlyList<Tally> TopClients);

/// <summary>One client in one minute: requests and denials.</summary>
internal sealed record ClientRollup(string Client, long Requests, long Denied);

/// <summary>One status code in one minute: requests and denials.</summary>
internal sealed record StatusRollup(int Status, long Requests, long Denied);

/// <summary>A <see cref="LatencySketch"/> as stored: its buckets (keys and counts, by key), minimum and maximum.</summary>
internal sealed record SketchData(long Min, long Max, int[] Keys, long[] Counts)
{
    public static SketchData Of(LatencySketch sketch)
    {
        var buckets = sketch.Buckets.ToArray();
        return new SketchData(sketch.Count == 0 ? 0 : sketch.Min, sketch.Max, [.. buckets.Select(b => b.Key)], [.. buckets.Select(b => b.Value)]);
    }
}

/// <summary>Rollups as JSON (camelCase): a config change inside a rollup file, and how <c>verify</c> names the minute that differs.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(MinuteRollup))]
[JsonSerializable(typeof(ChangeReport))]
internal sealed partial class RollupJsonContext : JsonSerializerContext;
