using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AuditGateway.Audit;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Notes;
using AuditGateway.Audit.Verification;
using AuditGateway.Redis;
using AuditGateway.Search;

namespace AuditGateway.Admin;

/// <summary>
/// The log on the admin API (docs/admin-api.md): search (<c>/api/log</c>), the live stream
/// (<c>/api/log/stream</c>), the config change timeline (<c>/api/changes</c>), the latest checkpoint
/// and proofs. Searches verify the whole log as they read it; each read of entries is itself audited
/// (<see cref="AdminReads"/>) before the answer.
/// </summary>
internal static class LogEndpoints
{
    private const string EventStream = "text/event-stream";

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/log", static context => SearchAsync(context, "search log", q => q, "entries", WriteEntry));
        endpoints.MapGet("/api/changes", static context => SearchAsync(context, "config changes", q => q with { Kind = AuditKind.Config }, "changes", WriteChange));
        endpoints.MapGet("/api/log/stream", StreamAsync);
        endpoints.MapGet("/api/checkpoint", static context =>
        {
            if (context.RequestServices.GetRequiredService<IAuditLog>().LatestCheckpoint is not { } latest)
            {
                return PlainAsync(context, StatusCodes.Status404NotFound, "404 Not Found: there is no checkpoint yet");
            }

            return JsonAsync(context, w =>
            {
                w.WriteString("origin", latest.Checkpoint.Origin);
                w.WriteNumber("size", latest.Checkpoint.Size);
                w.WriteString("root", Convert.ToBase64String(latest.Checkpoint.Root));
                w.WriteString("rootHex", Convert.ToHexStringLower(latest.Checkpoint.Root));
                w.WriteString("note", latest.Note.ToString());
            });
        });
        endpoints.MapGet("/api/proof/inclusion", static async context =>
        {
            var options = context.RequestServices.GetRequiredService<AuditOptions>();
            var size = Number(context, "size") ?? context.RequestServices.GetRequiredService<IAuditLog>().LatestCheckpoint?.Checkpoint.Size;
            if (Number(context, "seq") is not { } seq || size is null)
            {
                await PlainAsync(context, StatusCodes.Status400BadRequest, "400 Bad Request: seq (a whole number) is required, and size while there is no checkpoint yet");
                return;
            }

            await context.RequestServices.GetRequiredService<AdminReads>().RecordAsync(context, "proof inclusion");
            await ProveAsync(context, () => JsonSerializer.SerializeToUtf8Bytes(
                InclusionProofJson.From(LogProver.Inclusion(options.DataDirectory, seq, size.Value, Sha(options)), options.DataDirectory),
                ProofJsonContext.Default.InclusionProofJson));
        });
        endpoints.MapGet("/api/proof/consistency", static context =>
        {
            var options = context.RequestServices.GetRequiredService<AuditOptions>();
            return Number(context, "from") is { } from && Number(context, "to") is { } to
                ? ProveAsync(context, () => JsonSerializer.SerializeToUtf8Bytes(
                    ConsistencyProofJson.From(LogProver.Consistency(options.DataDirectory, from, to, Sha(options))),
                    ProofJsonContext.Default.ConsistencyProofJson))
                : PlainAsync(context, StatusCodes.Status400BadRequest, "400 Bad Request: from and to (whole numbers, tree sizes) are required");
        });
    }

    /// <summary>One page of a search: <c>{entries|changes: [...], nextCursor, verifiedAgainst: {treeSize, root}}</c>; 500 when the log does not verify.</summary>
    private static async Task SearchAsync(HttpContext context, string what, Func<SearchQuery, SearchQuery> narrow, string items, Action<Utf8JsonWriter, long, byte[]> writeItem)
    {
        SearchQuery query;
        try
        {
            query = narrow(Parameters(context).Parse(context.RequestServices.GetRequiredService<TimeProvider>(), commandLine: false));
        }
        catch (SearchParameterException e)
        {
            await PlainAsync(context, StatusCodes.Status400BadRequest, "400 Bad Request: " + e.Message);
            return;
        }

        await context.RequestServices.GetRequiredService<AdminReads>().RecordAsync(context, what);
        var options = context.RequestServices.GetRequiredService<AuditOptions>();
        var hits = new List<(long Seq, byte[] Line)>();
        var page = await Task.Run(() =>
        {
            using var key = PublicKey(options);
            void Hit(LoggedEntry entry, ReadOnlySpan<byte> line) => hits.Add((entry.Seq, line.ToArray()));
            var scan = context.Request.Query.ContainsKey("verify");
            return (scan ? null : IndexedSearch.TryRun(options.DataDirectory, key, Sha(options), query, Hit))
                ?? LogSearch.Run(options.DataDirectory, key, Sha(options), query, Hit);
        }, context.RequestAborted);
        var verified = page.Verified;
        if (!verified.Intact)
        {
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            await JsonAsync(context, w =>
            {
                w.WriteString("error", $"TAMPERED seq={verified.BadSeq} reason={verified.Reason}");
                w.WriteStartObject("tampered");
                w.WriteNumber("seq", verified.BadSeq!.Value);
                w.WriteString("reason", verified.Reason);
                w.WriteEndObject();
            });
            return;
        }

        await JsonAsync(context, w =>
        {
            w.WriteStartArray(items);
            foreach (var (seq, line) in hits)
            {
                writeItem(w, seq, line);
            }

            w.WriteEndArray();
            w.WriteString("nextCursor", page.NextCursor);
            w.WriteStartObject("verifiedAgainst");
            w.WriteNumber("treeSize", verified.Entries);
            w.WriteString("root", Convert.ToHexStringLower(verified.Root));
            w.WriteString("how", page.ProvenIndividually ? "each entry proven included (index)" : "whole log verified");
            w.WriteEndObject();
        });
    }

    private static void WriteEntry(Utf8JsonWriter w, long seq, byte[] line)
    {
        w.WriteStartObject();
        w.WriteNumber("seq", seq);
        w.WritePropertyName("entry");
        w.WriteRawValue(line, skipInputValidation: true);
        w.WriteEndObject();
    }

    /// <summary>A config entry as a timeline item: seq and time, then the change (actor, object, operation, revisions, diff, effect, errors).</summary>
    private static void WriteChange(Utf8JsonWriter w, long seq, byte[] line)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        w.WriteStartObject();
        w.WriteNumber("seq", seq);
        w.WriteString("ts", root.GetProperty("ts").GetString());
        foreach (var property in root.GetProperty("config").EnumerateObject())
        {
            property.WriteTo(w);
        }

        w.WriteEndObject();
    }

    /// <summary>
    /// Server-Sent Events of durable entries (<c>id:</c> = seq, <c>event:</c> = kind). With <c>Last-Event-ID</c>
    /// (or <c>?lastEventId=</c>) the stream goes on after that seq without a gap or a repeat (<see cref="ResumedFeed"/>).
    /// </summary>
    private static async Task StreamAsync(HttpContext context)
    {
        var replicas = context.Request.Query["replicas"].FirstOrDefault();
        if (replicas is not (null or "all"))
        {
            await PlainAsync(context, StatusCodes.Status400BadRequest, $"400 Bad Request: replicas '{replicas}': expected all");
            return;
        }

        var allReplicas = replicas == "all";
        SearchQuery query;
        long? lastId;
        try
        {
            query = Parameters(context).Parse(context.RequestServices.GetRequiredService<TimeProvider>(), commandLine: false);

            // Every replica's stream is not resumable (its ids are node:seq): a Last-Event-ID is not for it.
            var last = allReplicas ? null : context.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? context.Request.Query["lastEventId"].FirstOrDefault();
            lastId = last is null ? null
                : long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id
                : throw new SearchParameterException($"Last-Event-ID '{last}': expected the seq of an event (a whole number)");
        }
        catch (SearchParameterException e)
        {
            await PlainAsync(context, StatusCodes.Status400BadRequest, "400 Bad Request: " + e.Message);
            return;
        }

        var views = context.RequestServices.GetService<ReplicaViews>();
        if (allReplicas && views is not { StreamsEntries: true })
        {
            await PlainAsync(context, StatusCodes.Status400BadRequest, "400 Bad Request: replicas=all needs redis.connection and redis.streamEntries: true (docs/replicas.md)");
            return;
        }

        await context.RequestServices.GetRequiredService<AdminReads>().RecordAsync(context, allReplicas ? "stream log (all replicas)" : "stream log");
        var log = context.RequestServices.GetRequiredService<IAuditLog>();
        var ct = context.RequestAborted;
        context.Response.ContentType = EventStream;
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        if (allReplicas)
        {
            await StreamReplicasAsync(context, views!, query, ct);
            return;
        }

        var data = context.RequestServices.GetRequiredService<AuditOptions>().DataDirectory;
        try
        {
            await foreach (var entry in ResumedFeed.ReadAsync(log, data, lastId, () => context.Response.Body.FlushAsync(ct), ct))
            {
                if (!query.HasFilters || query.Matches(EntryParser.TryParse(Encoding.UTF8.GetBytes(entry.Json), out _)!))
                {
                    await SendAsync(context, entry.Seq, entry.Kind, entry.Json);
                    await context.Response.Body.FlushAsync(ct);
                }
            }
        }
        catch (Exception e) when (ct.IsCancellationRequested && e is OperationCanceledException or IOException)
        {
            // The client went away.
        }
    }

    /// <summary>Every node's entries from now on, from their Redis streams (no resuming: the id is <c>node:seq</c>).</summary>
    private static async Task StreamReplicasAsync(HttpContext context, ReplicaViews views, SearchQuery query, CancellationToken ct)
    {
        await context.Response.Body.FlushAsync(ct);
        try
        {
            await foreach (var (node, seq, kind, line) in views.FollowAsync(ct))
            {
                if (!query.HasFilters || EntryParser.TryParse(Encoding.UTF8.GetBytes(line), out _) is { } entry && query.Matches(entry))
                {
                    await context.Response.WriteAsync(string.Create(CultureInfo.InvariantCulture, $"id: {node}:{seq}\nevent: {kind}\ndata: {line}\n\n"), ct);
                    await context.Response.Body.FlushAsync(ct);
                }
            }
        }
        catch (Exception e) when (ct.IsCancellationRequested && e is OperationCanceledException or IOException)
        {
            // The client went away.
        }
    }

    private static Task SendAsync(HttpContext context, long seq, AuditKind kind, string json) =>
        context.Response.WriteAsync(
            string.Create(CultureInfo.InvariantCulture, $"id: {seq}\nevent: {Encoding.UTF8.GetString(EntryEncoder.KindNames[(int)kind])}\ndata: {json}\n\n"),
            context.RequestAborted);

    private static SearchParameters Parameters(HttpContext context)
    {
        string? Q(string name) => context.Request.Query.TryGetValue(name, out var value) ? value.ToString() : null;
        return new SearchParameters
        {
            From = Q("from"),
            To = Q("to"),
            Kind = Q("kind"),
            Route = Q("route"),
            Identity = Q("identity"),
            Client = Q("client"),
            Status = Q("status"),
            Decision = Q("decision"),
            RequestId = Q("requestId"),
            Object = Q("object"),
            Actor = Q("actor"),
            Cursor = Q("cursor"),
            Limit = Q("limit"),
        };
    }

    private static long? Number(HttpContext context, string name) =>
        long.TryParse(context.Request.Query[name].FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static async Task ProveAsync(HttpContext context, Func<byte[]> prove)
    {
        byte[] json;
        try
        {
            json = await Task.Run(prove, context.RequestAborted);
        }
        catch (ArgumentOutOfRangeException e)
        {
            await PlainAsync(context, StatusCodes.Status400BadRequest, "400 Bad Request: " + e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal));
            return;
        }

        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.Body.WriteAsync(json, context.RequestAborted);
    }

    private static ISha256 Sha(AuditOptions options) => Sha256Selection.Select(options.Sha256).Sha256;

    /// <summary>The signer's key (the gateway's own signing key file; its public half checks the checkpoints).</summary>
    private static ECDsa? PublicKey(AuditOptions options) =>
        File.Exists(options.ResolvedSigningKeyPath) ? SigningKeys.Load(options.ResolvedSigningKeyPath) : null;

    private static async Task JsonAsync(HttpContext context, Action<Utf8JsonWriter> body)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        buffer.Position = 0;
        await buffer.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    private static Task PlainAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsync(message + "\n");
    }
}
