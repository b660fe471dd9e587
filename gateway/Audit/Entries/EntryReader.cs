using System.Runtime.CompilerServices;
using System.Text.Json;

namespace AuditGateway.Audit.Entries;

/// <summary>
/// Reads a log line into a <see cref="LoggedEntry"/> with <see cref="Utf8JsonReader"/>, expecting
/// every key in the one order <see cref="EntryEncoder"/> writes them. Stricter and several times
/// faster than a general deserializer, which matters because <c>verify</c> reads every line;
/// the canonical check (re-encode and compare) still decides what is valid.
/// Throws <see cref="FormatException"/> saying what was expected where.
/// </summary>
internal static class EntryReader
{
    private delegate T ValueReader<T>(ref Utf8JsonReader reader);

    public static LoggedEntry Read(ReadOnlySpan<byte> line)
    {
        // Deeper than the default 64 so that no JSON Patch the writer accepted is refused here.
        var r = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = 1024 });
        Next(ref r, JsonTokenType.StartObject);
        var seq = Int64(ref r, "seq"u8);
        Name(ref r, "ts"u8);
        var ts = Time(ref r);
        var kind = Symbol<AuditKind>(ref r, "kind"u8, EntryEncoder.KindNames);
        var node = String(ref r, "node"u8);
        var prev = String(ref r, "prev"u8);
        Name(ref r, EntryEncoder.KindNames[(int)kind]);
        AuditBody body = kind switch
        {
            AuditKind.Request => Request(ref r),
            AuditKind.Config => Config(ref r),
            AuditKind.Security => Security(ref r),
            _ => Lifecycle(ref r),
        };
        Next(ref r, JsonTokenType.EndObject);
        if (r.Read())
        {
            throw Error(ref r, "nothing after the entry");
        }

        return new LoggedEntry(seq, ts, node, prev, body);
    }

    private static RequestBody Request(ref Utf8JsonReader r)
    {
        Next(ref r, JsonTokenType.StartObject);
        var body = new RequestBody
        {
            Id = String(ref r, "id"u8),
            Method = String(ref r, "method"u8),
            Scheme = String(ref r, "scheme"u8),
            Host = String(ref r, "host"u8),
            Path = String(ref r, "path"u8),
            Query = StringOrNull(ref r, "query"u8),
            Protocol = String(ref r, "protocol"u8),
            Client = Object(ref r, "client"u8, static (ref r) => new ClientEndpoint(String(ref r, "ip"u8), (int)Int64(ref r, "port"u8)))!,
            Forwarded = Strings(ref r, "forwarded"u8),
            UserAgent = StringOrNull(ref r, "userAgent"u8),
            Identity = Object(ref r, "identity"u8, static (ref r) => new RequestIdentity
            {
                Authenticated = Bool(ref r, "authenticated"u8),
                Subject = StringOrNull(ref r, "subject"u8),
                Issuer = StringOrNull(ref r, "issuer"u8),
                Audience = StringOrNull(ref r, "audience"u8),
                ClientId = StringOrNull(ref r, "clientId"u8),
                Claims = Map<IReadOnlyList<string>>(ref r, "claims"u8, static (ref r) => StringsValue(ref r)),
            })!,
            Route = Object(ref r, "route"u8, static (ref r) => new RouteRef
            {
                Id = String(ref r, "id"u8),
                Namespace = String(ref r, "namespace"u8),
                Ingress = String(ref r, "ingress"u8),
                Path = String(ref r, "path"u8),
                PathType = String(ref r, "pathType"u8),
                Service = String(ref r, "service"u8),
                Port = String(ref r, "port"u8),
                Destination = StringOrNull(ref r, "destination"u8),
            }, nullable: true),
            Revision = String(ref r, "revision"u8),
            Decision = Object(ref r, "decision"u8, static (ref r) => new RequestDecision(
                Symbol<Decision>(ref r, "decision"u8, EntryEncoder.DecisionNames),
                StringOrNull(ref r, "rule"u8),
                StringOrNull(ref r, "reason"u8)))!,
            Status = (int)Int64(ref r, "status"u8),
            BytesIn = Int64(ref r, "bytesIn"u8),
            BytesOut = Int64(ref r, "bytesOut"u8),
            LatencyUs = Int64(ref r, "latencyUs"u8),
            UpstreamLatencyUs = Int64OrNull(ref r, "upstreamLatencyUs"u8),
            Tls = Object(ref r, "tls"u8, static (ref r) => new TlsInfo(StringOrNull(ref r, "sni"u8), String(ref r, "version"u8)), nullable: true),
            UpstreamError = StringOrNull(ref r, "upstreamError"u8),
            Attempts = NextIs(ref r, "attempts"u8) ? Array(ref r, "attempts"u8, static (ref r) =>
            {
                var attempt = new UpstreamAttempt(String(ref r, "destination"u8), StringOrNull(ref r, "error"u8));
                Next(ref r, JsonTokenType.EndObject);
                return attempt;
            }) : null,
            TraceId = NextIs(ref r, "traceId"u8) ? String(ref r, "traceId"u8) : null,
            Grpc = NextIs(ref r, "grpc"u8) ? Object(ref r, "grpc"u8, static (ref r) => new GrpcCall(
                NextIs(ref r, "status"u8) ? (int)Int64(ref r, "status"u8) : null,
                NextIs(ref r, "message"u8) ? String(ref r, "message"u8) : null,
                Int64(ref r, "messagesIn"u8),
                Int64(ref r, "messagesOut"u8))) : null,
            WebSocket = NextIs(ref r, "websocket"u8) ? Object(ref r, "websocket"u8, static (ref r) => new WebSocketInfo(
                (int?)Int64OrNull(ref r, "closeStatus"u8),
                StringOrNull(ref r, "closedBy"u8),
                Int64(ref r, "framesIn"u8),
                Int64(ref r, "framesOut"u8))) : null,
        };
        Next(ref r, JsonTokenType.EndObject);
        return body;
    }

    private static ConfigBody Config(ref Utf8JsonReader r)
    {
        Next(ref r, JsonTokenType.StartObject);
        var revisionBefore = String(ref r, "revisionBefore"u8);
        var revisionAfter = String(ref r, "revisionAfter"u8);
        var target = Object(ref r, "object"u8, static (ref r) => new ObjectRef
        {
            Kind = String(ref r, "kind"u8),
            Namespace = StringOrNull(ref r, "namespace"u8),
            Name = String(ref r, "name"u8),
            Uid = StringOrNull(ref r, "uid"u8),
            ResourceVersion = StringOrNull(ref r, "resourceVersion"u8),
            Generation = Int64OrNull(ref r, "generation"u8),
        })!;
        var operation = String(ref r, "operation"u8);
        var actor = Object(ref r, "actor"u8, static (ref r) => new ChangeActor
        {
            Username = StringOrNull(ref r, "username"u8),
            Groups = Strings(ref r, "groups"u8),
            SourceIps = Strings(ref r, "sourceIps"u8),
            UserAgent = StringOrNull(ref r, "userAgent"u8),
            Via = Symbol<ActorSource>(ref r, "via"u8, EntryEncoder.ActorSourceNames),
        })!;
        var source = Symbol<ChangeSource>(ref r, "source"u8, EntryEncoder.ChangeSourceNames);
        var file = Object(ref r, "file"u8, static (ref r) => new FileRef(String(ref r, "path"u8), String(ref r, "sha256"u8)), nullable: true);
        Name(ref r, "diff"u8);
        Next(ref r);
        var diff = JsonElement.ParseValue(ref r);
        var body = new ConfigBody
        {
            RevisionBefore = revisionBefore,
            RevisionAfter = revisionAfter,
            Object = target,
            Operation = operation,
            Actor = actor,
            Source = source,
            File = file,
            Diff = diff,
            Effect = Object(ref r, "effect"u8, static (ref r) => new RouteEffect
            {
                Added = Strings(ref r, "added"u8),
                Removed = Strings(ref r, "removed"u8),
                Changed = Strings(ref r, "changed"u8),
            })!,
            Errors = Strings(ref r, "errors"u8),
        };
        Next(ref r, JsonTokenType.EndObject);
        return body;
    }

    private static SecurityBody Security(ref Utf8JsonReader r)
    {
        Next(ref r, JsonTokenType.StartObject);
        var body = new SecurityBody
        {
            Action = Symbol<SecurityAction>(ref r, "action"u8, EntryEncoder.SecurityActionNames),
            Subject = String(ref r, "subject"u8),
            By = String(ref r, "by"u8),
            Reason = StringOrNull(ref r, "reason"u8),
            Until = TimeOrNull(ref r, "until"u8),
            Evidence = Map(ref r, "evidence"u8, static (ref r) => StringValue(ref r)),
        };
        Next(ref r, JsonTokenType.EndObject);
        return body;
    }

    private static LifecycleBody Lifecycle(ref Utf8JsonReader r)
    {
        Next(ref r, JsonTokenType.StartObject);
        var body = new LifecycleBody
        {
            Event = Symbol<LifecycleEvent>(ref r, "event"u8, EntryEncoder.LifecycleEventNames),
            Version = StringOrNull(ref r, "version"u8),
            TruncatedBytes = Int64OrNull(ref r, "truncatedBytes"u8),
            TruncatedLines = (int?)Int64OrNull(ref r, "truncatedLines"u8),
            Segment = StringOrNull(ref r, "segment"u8),
            Outage = NextIs(ref r, "outage"u8) ? Object(ref r, "outage"u8, static (ref r) =>
            {
                Name(ref r, "since"u8);
                var since = Time(ref r);
                Name(ref r, "until"u8);
                var until = Time(ref r);
                return new LogOutage
                {
                    Since = since,
                    Until = until,
                    Reason = String(ref r, "reason"u8),
                    RefusedRequests = Int64(ref r, "refusedRequests"u8),
                    UnauditedRequests = Int64(ref r, "unauditedRequests"u8),
                    LostEntries = Int64(ref r, "lostEntries"u8),
                };
            }) : null,
            Pruned = NextIs(ref r, "pruned"u8) ? Object(ref r, "pruned"u8, static (ref r) => new PrunedRange
            {
                FromSeq = Int64(ref r, "fromSeq"u8),
                ToSeq = Int64(ref r, "toSeq"u8),
                Segments = Strings(ref r, "segments"u8),
                Frontier = Strings(ref r, "frontier"u8),
                Archived = Bool(ref r, "archived"u8),
            }) : null,
            Redis = NextIs(ref r, "redis"u8) ? Object(ref r, "redis"u8, static (ref r) =>
            {
                Name(ref r, "since"u8);
                var since = Time(ref r);
                var until = TimeOrNull(ref r, "until"u8);
                return new RedisOutage { Since = since, Until = until, Reason = String(ref r, "reason"u8) };
            }) : null,
        };
        Next(ref r, JsonTokenType.EndObject);
        return body;
    }

    private static void Next(ref Utf8JsonReader r)
    {
        if (!r.Read())
        {
            throw Error(ref r, "more JSON");
        }
    }

    private static void Next(ref Utf8JsonReader r, JsonTokenType expected)
    {
        Next(ref r);
        if (r.TokenType != expected)
        {
            throw Error(ref r, expected.ToString());
        }
    }

    private static void Name(ref Utf8JsonReader r, ReadOnlySpan<byte> name)
    {
        Next(ref r);
        if (r.TokenType != JsonTokenType.PropertyName || !r.ValueTextEquals(name))
        {
            throw Error(ref r, $"key \"{System.Text.Encoding.UTF8.GetString(name)}\"");
        }
    }

    /// <summary>True when the next key is <paramref name="name"/> (a key that is absent when null); reads nothing.</summary>
    private static bool NextIs(ref Utf8JsonReader r, ReadOnlySpan<byte> name)
    {
        var peek = r;
        return peek.Read() && peek.TokenType == JsonTokenType.PropertyName && peek.ValueTextEquals(name);
    }

    /// <summary>Reads <c>"name": [{...}, ...]</c>; <paramref name="item"/> reads an object's members and its end.</summary>
    private static List<T> Array<T>(ref Utf8JsonReader r, ReadOnlySpan<byte> name, ValueReader<T> item)
    {
        Name(ref r, name);
        Next(ref r, JsonTokenType.StartArray);
        var list = new List<T>();
        while (true)
        {
            Next(ref r);
            if (r.TokenType == JsonTokenType.EndArray)
            {
                return list;
            }

            if (r.TokenType != JsonTokenType.StartObject)
            {
                throw Error(ref r, "an object");
            }

            list.Add(item(ref r));
        }
    }

    /// <summary>Reads <c>"name": {...}</c> with <paramref name="fields"/> reading the members; null for <c>null</c> when allowed.</summary>
    private static T? Object<T>(ref Utf8JsonReader r, ReadOnlySpan<byte> name, ValueReader<T> fields, bool nullable = false)
        where T : class
    {
        Name(ref r, name);
        Next(ref r);
        if (nullable && r.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (r.TokenType != JsonTokenType.StartObject)
        {
            throw Error(ref r, "an object");
        }

        var value = fields(ref r);
        Next(ref r, JsonTokenType.EndObject);
        return value;
    }

    private static Dictionary<string, T>? Map<T>(ref Utf8JsonReader r, ReadOnlySpan<byte> name, ValueReader<T> value)
    {
        Name(ref r, name);
        Next(ref r);
        if (r.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (r.TokenType != JsonTokenType.StartObject)
        {
            throw Error(ref r, "an object or null");
        }

        var map = new Dictionary<string, T>();
        while (true)
        {
            Next(ref r);
            if (r.TokenType == JsonTokenType.EndObject)
            {
                return map;
            }

            var key = r.GetString()!;
            Next(ref r);
            if (!map.TryAdd(key, value(ref r)))
            {
                throw Error(ref r, $"no second key \"{key}\"");
            }
        }
    }

    private static string String(ref Utf8JsonReader r, ReadOnlySpan<byte> name) =>
        StringOrNull(ref r, name) ?? throw Error(ref r, "a string, not null");

    private static string? StringOrNull(ref Utf8JsonReader r, ReadOnlySpan<byte> name)
    {
        Name(ref r, name);
        Next(ref r);
        return r.TokenType == JsonTokenType.Null ? null : StringValue(ref r);
    }

    private static string StringValue(ref Utf8JsonReader r) =>
        r.TokenType == JsonTokenType.String ? r.GetString()! : throw Error(ref r, "a string");

    private static List<string> Strings(ref Utf8JsonReader r, ReadOnlySpan<byte> name)
    {
        Name(ref r, name);
        Next(ref r);
        return StringsValue(ref r);
    }

    private static List<string> StringsValue(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.StartArray)
        {
            throw Error(ref r, "an array of strings");
        }

        var list = new List<string>();
        while (true)
        {
            Next(ref r);
            if (r.TokenType == JsonTokenType.EndArray)
            {
                return list;
            }

            list.Add(StringValue(ref r));
        }
    }

    private static long Int64(ref Utf8JsonReader r, ReadOnlySpan<byte> name) =>
        Int64OrNull(ref r, name) ?? throw Error(ref r, "a number, not null");

    private static long? Int64OrNull(ref Utf8JsonReader r, ReadOnlySpan<byte> name)
    {
        Name(ref r, name);
        Next(ref r);
        if (r.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        return r.TokenType == JsonTokenType.Number && r.TryGetInt64(out var value) ? value : throw Error(ref r, "an integer");
    }

    private static bool Bool(ref Utf8JsonReader r, ReadOnlySpan<byte> name)
    {
        Name(ref r, name);
        Next(ref r);
        return r.TokenType switch
        {
            JsonTokenType.True => true,
            JsonTokenType.False => false,
            _ => throw Error(ref r, "true or false"),
        };
    }

    private static DateTimeOffset Time(ref Utf8JsonReader r)
    {
        Next(ref r);
        return r.TokenType == JsonTokenType.String && r.TryGetDateTimeOffset(out var value) ? value : throw Error(ref r, "an RFC 3339 time");
    }

    private static DateTimeOffset? TimeOrNull(ref Utf8JsonReader r, ReadOnlySpan<byte> name)
    {
        Name(ref r, name);
        var peek = r;
        Next(ref peek);
        if (peek.TokenType == JsonTokenType.Null)
        {
            r = peek;
            return null;
        }

        return Time(ref r);
    }

    private static T Symbol<T>(ref Utf8JsonReader r, ReadOnlySpan<byte> name, byte[][] names)
        where T : struct, Enum
    {
        Name(ref r, name);
        Next(ref r);
        if (r.TokenType == JsonTokenType.String && !r.ValueIsEscaped)
        {
            for (var i = 0; i < names.Length; i++)
            {
                if (r.ValueSpan.SequenceEqual(names[i]))
                {
                    return Unsafe.BitCast<int, T>(i);
                }
            }
        }

        throw Error(ref r, "one of " + string.Join(", ", names.Select(n => System.Text.Encoding.UTF8.GetString(n))));
    }

    private static FormatException Error(ref Utf8JsonReader r, string expected) =>
        new($"expected {expected} at byte {r.TokenStartIndex}");
}
