using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace AuditGateway.Audit.Entries;

/// <summary>
/// Encodes entries as canonical lines (without the newline). The encoded line is preceded in
/// <see cref="LeafInput"/> by the RFC 6962 leaf prefix 0x00, so the leaf hash needs no copy.
/// One instance per thread; it reuses its buffer.
/// </summary>
/// <param name="cacheSharedParts">
/// Remember the JSON of the route and identity objects it is given, by reference, and write it
/// again when the same object comes back. For the log writer: the gateway hands it one shared
/// object per route and per caller, immutable, so most request entries repeat a few of them.
/// Not for reading a log, where every parsed entry has objects of its own.
/// </param>
internal sealed class EntryEncoder(bool cacheSharedParts = false)
{
    internal static readonly byte[][] KindNames = EnumNames(AuditJsonContext.Default.AuditKind);
    internal static readonly byte[][] DecisionNames = EnumNames(AuditJsonContext.Default.Decision);
    internal static readonly byte[][] ActorSourceNames = EnumNames(AuditJsonContext.Default.ActorSource);
    internal static readonly byte[][] ChangeSourceNames = EnumNames(AuditJsonContext.Default.ChangeSource);
    internal static readonly byte[][] SecurityActionNames = EnumNames(AuditJsonContext.Default.SecurityAction);
    internal static readonly byte[][] LifecycleEventNames = EnumNames(AuditJsonContext.Default.LifecycleEvent);

    private readonly CanonicalJsonWriter _w = new(prefix: 1);
    private readonly FragmentCache? _shared = cacheSharedParts ? new() : null;

    /// <summary>The line just encoded, without its newline.</summary>
    public ReadOnlySpan<byte> Line => _w.Json;

    /// <summary>0x00 followed by <see cref="Line"/>: the input of the RFC 6962 leaf hash.</summary>
    public ReadOnlySpan<byte> LeafInput => _w.PrefixedJson;

    public void Encode(LoggedEntry entry)
    {
        Span<byte> prev = stackalloc byte[32];
        if (!HexEncoding.TryDecode(entry.Prev, prev))
        {
            throw new FormatException("prev is not 64 lower-case hex digits");
        }

        Encode(entry.Seq, entry.Timestamp, entry.Node, prev, entry.Body);
    }

    public void Encode(long seq, DateTimeOffset timestamp, string node, ReadOnlySpan<byte> prev, AuditBody body)
    {
        var w = _w;
        w.Reset();
        w.StartObject();
        w.Name("seq"u8);
        w.Number(seq);
        w.Name("ts"u8);
        w.Timestamp(timestamp);
        w.Name("kind"u8);
        w.Symbol(KindNames, (int)body.Kind);
        w.Name("node"u8);
        w.String(node);
        w.Name("prev"u8);
        w.Hex(prev);
        w.Name(KindNames[(int)body.Kind]);
        switch (body)
        {
            case RequestBody r:
                Write(r);
                break;
            case ConfigBody c:
                Write(w, c);
                break;
            case SecurityBody s:
                Write(w, s);
                break;
            case LifecycleBody l:
                Write(w, l);
                break;
            default:
                throw new ArgumentException($"unknown body type {body.GetType().Name}", nameof(body));
        }

        w.EndObject();
    }

    private void Write(RequestBody r)
    {
        var w = _w;
        w.StartObject();
        w.Name("id"u8);
        w.String(r.Id);
        w.Name("method"u8);
        w.String(r.Method);
        w.Name("scheme"u8);
        w.String(r.Scheme);
        w.Name("host"u8);
        w.String(r.Host);
        w.Name("path"u8);
        w.String(r.Path);
        w.Name("query"u8);
        w.String(r.Query);
        w.Name("protocol"u8);
        w.String(r.Protocol);
        w.Name("client"u8);
        w.StartObject();
        w.Name("ip"u8);
        w.String(r.Client.Ip);
        w.Name("port"u8);
        w.Number(r.Client.Port);
        w.EndObject();
        w.Name("forwarded"u8);
        w.StringArray(r.Forwarded);
        w.Name("userAgent"u8);
        w.String(r.UserAgent);
        w.Name("identity"u8);
        Shared(r.Identity, static (w, identity) => Write(w, identity));
        w.Name("route"u8);
        if (r.Route is { } route)
        {
            Shared(route, static (w, route) => Write(w, route));
        }
        else
        {
            w.Null();
        }
        w.Name("revision"u8);
        w.String(r.Revision);
        w.Name("decision"u8);
        w.StartObject();
        w.Name("decision"u8);
        w.Symbol(DecisionNames, (int)r.Decision.Decision);
        w.Name("rule"u8);
        w.String(r.Decision.Rule);
        w.Name("reason"u8);
        w.String(r.Decision.Reason);
        w.EndObject();
        w.Name("status"u8);
        w.Number(r.Status);
        w.Name("bytesIn"u8);
        w.Number(r.BytesIn);
        w.Name("bytesOut"u8);
        w.Number(r.BytesOut);
        w.Name("latencyUs"u8);
        w.Number(r.LatencyUs);
        w.Name("upstreamLatencyUs"u8);
        w.Number(r.UpstreamLatencyUs);
        w.Name("tls"u8);
        if (r.Tls is { } tls)
        {
            w.StartObject();
            w.Name("sni"u8);
            w.String(tls.Sni);
            w.Name("version"u8);
            w.String(tls.Version);
            w.EndObject();
        }
        else
        {
            w.Null();
        }

        w.Name("upstreamError"u8);
        w.String(r.UpstreamError);

        // Added after the first release: absent when null, so older lines still re-encode to themselves.
        if (r.Attempts is { } attempts)
        {
            w.Name("attempts"u8);
            w.StartArray();
            foreach (var attempt in attempts)
            {
                w.StartObject();
                w.Name("destination"u8);
                w.String(attempt.Destination);
                w.Name("error"u8);
                w.String(attempt.Error);
                w.EndObject();
            }

            w.EndArray();
        }

        if (r.TraceId is { } traceId)
        {
            w.Name("traceId"u8);
            w.String(traceId);
        }

        if (r.Grpc is { } grpc)
        {
            Write(w, grpc);
        }

        if (r.WebSocket is { } webSocket)
        {
            w.Name("websocket"u8);
            w.StartObject();
            w.Name("closeStatus"u8);
            w.Number(webSocket.CloseStatus);
            w.Name("closedBy"u8);
            w.String(webSocket.ClosedBy);
            w.Name("framesIn"u8);
            w.Number(webSocket.FramesIn);
            w.Name("framesOut"u8);
            w.Number(webSocket.FramesOut);
            w.EndObject();
        }

        w.EndObject();
    }

    /// <summary><c>"grpc":{"status":0,"message":"…","messagesIn":1,"messagesOut":3}</c>, <c>status</c> and <c>message</c> absent when null.</summary>
    private static void Write(CanonicalJsonWriter w, GrpcCall grpc)
    {
        w.Name("grpc"u8);
        w.StartObject();
        if (grpc.Status is { } status)
        {
            w.Name("status"u8);
            w.Number(status);
        }

        if (grpc.Message is { } message)
        {
            w.Name("message"u8);
            w.String(message);
        }

        w.Name("messagesIn"u8);
        w.Number(grpc.MessagesIn);
        w.Name("messagesOut"u8);
        w.Number(grpc.MessagesOut);
        w.EndObject();
    }

    private static void Write(CanonicalJsonWriter w, RequestIdentity identity)
    {
        w.StartObject();
        w.Name("authenticated"u8);
        w.Bool(identity.Authenticated);
        w.Name("subject"u8);
        w.String(identity.Subject);
        w.Name("issuer"u8);
        w.String(identity.Issuer);
        w.Name("audience"u8);
        w.String(identity.Audience);
        w.Name("clientId"u8);
        w.String(identity.ClientId);
        w.Name("claims"u8);
        WriteMap(w, identity.Claims, static (w, values) => w.StringArray(values));

        w.EndObject();
    }

    /// <summary>Writes a value that follows a name, from the cache when this object was written before.</summary>
    private void Shared<T>(T value, Action<CanonicalJsonWriter, T> write)
        where T : class
    {
        var w = _w;
        if (_shared is null)
        {
            write(w, value);
            return;
        }

        if (_shared.TryGet(value, out var slot, out var json))
        {
            w.Fragment(json);
            return;
        }

        var start = w.Length;
        write(w, value);
        _shared.Set(slot, value, w.Since(start));
    }

    private static void Write(CanonicalJsonWriter w, RouteRef route)
    {
        w.StartObject();
        w.Name("id"u8);
        w.String(route.Id);
        w.Name("namespace"u8);
        w.String(route.Namespace);
        w.Name("ingress"u8);
        w.String(route.Ingress);
        w.Name("path"u8);
        w.String(route.Path);
        w.Name("pathType"u8);
        w.String(route.PathType);
        w.Name("service"u8);
        w.String(route.Service);
        w.Name("port"u8);
        w.String(route.Port);
        w.Name("destination"u8);
        w.String(route.Destination);
        w.EndObject();
    }

    private static void Write(CanonicalJsonWriter w, ConfigBody c)
    {
        w.StartObject();
        w.Name("revisionBefore"u8);
        w.String(c.RevisionBefore);
        w.Name("revisionAfter"u8);
        w.String(c.RevisionAfter);
        w.Name("object"u8);
        w.StartObject();
        w.Name("kind"u8);
        w.String(c.Object.Kind);
        w.Name("namespace"u8);
        w.String(c.Object.Namespace);
        w.Name("name"u8);
        w.String(c.Object.Name);
        w.Name("uid"u8);
        w.String(c.Object.Uid);
        w.Name("resourceVersion"u8);
        w.String(c.Object.ResourceVersion);
        w.Name("generation"u8);
        w.Number(c.Object.Generation);
        w.EndObject();
        w.Name("operation"u8);
        w.String(c.Operation);
        w.Name("actor"u8);
        w.StartObject();
        w.Name("username"u8);
        w.String(c.Actor.Username);
        w.Name("groups"u8);
        w.StringArray(c.Actor.Groups);
        w.Name("sourceIps"u8);
        w.StringArray(c.Actor.SourceIps);
        w.Name("userAgent"u8);
        w.String(c.Actor.UserAgent);
        w.Name("via"u8);
        w.Symbol(ActorSourceNames, (int)c.Actor.Via);
        w.EndObject();
        w.Name("source"u8);
        w.Symbol(ChangeSourceNames, (int)c.Source);
        w.Name("file"u8);
        if (c.File is { } file)
        {
            w.StartObject();
            w.Name("path"u8);
            w.String(file.Path);
            w.Name("sha256"u8);
            w.String(file.Sha256);
            w.EndObject();
        }
        else
        {
            w.Null();
        }

        w.Name("diff"u8);
        w.Element(c.Diff);
        w.Name("effect"u8);
        w.StartObject();
        w.Name("added"u8);
        w.StringArray(c.Effect.Added);
        w.Name("removed"u8);
        w.StringArray(c.Effect.Removed);
        w.Name("changed"u8);
        w.StringArray(c.Effect.Changed);
        w.EndObject();
        w.Name("errors"u8);
        w.StringArray(c.Errors);
        w.EndObject();
    }

    private static void Write(CanonicalJsonWriter w, SecurityBody s)
    {
        w.StartObject();
        w.Name("action"u8);
        w.Symbol(SecurityActionNames, (int)s.Action);
        w.Name("subject"u8);
        w.String(s.Subject);
        w.Name("by"u8);
        w.String(s.By);
        w.Name("reason"u8);
        w.String(s.Reason);
        w.Name("until"u8);
        w.Timestamp(s.Until);
        w.Name("evidence"u8);
        WriteMap(w, s.Evidence, static (w, value) => w.String(value));

        w.EndObject();
    }

    private static void Write(CanonicalJsonWriter w, LifecycleBody l)
    {
        w.StartObject();
        w.Name("event"u8);
        w.Symbol(LifecycleEventNames, (int)l.Event);
        w.Name("version"u8);
        w.String(l.Version);
        w.Name("truncatedBytes"u8);
        w.Number(l.TruncatedBytes);
        w.Name("truncatedLines"u8);
        w.Number(l.TruncatedLines);
        w.Name("segment"u8);
        w.String(l.Segment);

        // Added after the first release: absent when null, so older lines still re-encode to themselves.
        if (l.Outage is { } outage)
        {
            w.Name("outage"u8);
            w.StartObject();
            w.Name("since"u8);
            w.Timestamp(outage.Since);
            w.Name("until"u8);
            w.Timestamp(outage.Until);
            w.Name("reason"u8);
            w.String(outage.Reason);
            w.Name("refusedRequests"u8);
            w.Number(outage.RefusedRequests);
            w.Name("unauditedRequests"u8);
            w.Number(outage.UnauditedRequests);
            w.Name("lostEntries"u8);
            w.Number(outage.LostEntries);
            w.EndObject();
        }

        if (l.Pruned is { } pruned)
        {
            w.Name("pruned"u8);
            w.StartObject();
            w.Name("fromSeq"u8);
            w.Number(pruned.FromSeq);
            w.Name("toSeq"u8);
            w.Number(pruned.ToSeq);
            w.Name("segments"u8);
            w.StringArray(pruned.Segments);
            w.Name("frontier"u8);
            w.StringArray(pruned.Frontier);
            w.Name("archived"u8);
            w.Bool(pruned.Archived);
            w.EndObject();
        }

        if (l.Redis is { } redis)
        {
            w.Name("redis"u8);
            w.StartObject();
            w.Name("since"u8);
            w.Timestamp(redis.Since);
            w.Name("until"u8);
            w.Timestamp(redis.Until);
            w.Name("reason"u8);
            w.String(redis.Reason);
            w.EndObject();
        }

        w.EndObject();
    }

    /// <summary>A string-keyed map in its own order; a <see cref="Dictionary{TKey, TValue}"/> is walked without allocating.</summary>
    private static void WriteMap<T>(CanonicalJsonWriter w, IReadOnlyDictionary<string, T>? map, Action<CanonicalJsonWriter, T> value)
    {
        if (map is null)
        {
            w.Null();
            return;
        }

        w.StartObject();
        if (map is Dictionary<string, T> dictionary)
        {
            foreach (var (name, item) in dictionary)
            {
                w.Name(name);
                value(w, item);
            }
        }
        else
        {
            foreach (var (name, item) in map)
            {
                w.Name(name);
                value(w, item);
            }
        }

        w.EndObject();
    }

    /// <summary>The JSON names of an enum's values, taken from its source-generated converter so reader and writer agree.</summary>
    private static byte[][] EnumNames<T>(JsonTypeInfo<T> typeInfo)
        where T : struct, Enum
    {
        var values = Enum.GetValues<T>();
        var names = new byte[values.Length][];
        for (var i = 0; i < values.Length; i++)
        {
            if (Convert.ToInt32(values[i], System.Globalization.CultureInfo.InvariantCulture) != i)
            {
                throw new InvalidOperationException($"{typeof(T).Name} values must be 0..n-1");
            }

            var json = JsonSerializer.SerializeToUtf8Bytes(values[i], typeInfo);
            names[i] = json[1..^1];
        }

        return names;
    }
}
