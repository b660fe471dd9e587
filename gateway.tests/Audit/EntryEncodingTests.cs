using System.Text;
using AuditGateway.Audit.Entries;

namespace AuditGateway.Tests.Audit;

public sealed class EntryEncodingTests
{
    private static readonly byte[] s_zeros = new byte[32];

    private static string Encode(AuditBody body, long seq = 7)
    {
        var encoder = new EntryEncoder();
        encoder.Encode(seq, new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero).AddTicks(1234567), "n1", s_zeros, body);
        return Encoding.UTF8.GetString(encoder.Line);
    }

    [Fact]
    public void Every_kind_round_trips_to_the_same_bytes()
    {
        var encoder = new EntryEncoder();
        for (var i = 0; i < 8; i++)
        {
            var entry = AuditTestKit.Entry(i);
            encoder.Encode(i, entry.Timestamp, "n1", s_zeros, entry.Body);
            var line = encoder.Line.ToArray();
            var parsed = EntryParser.TryParseCanonical(line, new EntryEncoder(), out var error);
            Assert.True(parsed is not null, error);
            Assert.Equal(entry.Kind, parsed.Kind);
            Assert.Equal(i, parsed.Seq);
        }
    }

    [Fact]
    public void The_envelope_has_fixed_keys_microsecond_utc_time_and_a_zero_prev()
    {
        var line = Encode(new LifecycleBody { Event = LifecycleEvent.Start, Version = "1.0" });
        Assert.Equal(
            "{\"seq\":7,\"ts\":\"2025-03-01T12:00:00.123456Z\",\"kind\":\"lifecycle\",\"node\":\"n1\",\"prev\":\"" + new string('0', 64) + "\","
            + "\"lifecycle\":{\"event\":\"start\",\"version\":\"1.0\",\"truncatedBytes\":null,\"truncatedLines\":null,\"segment\":null}}",
            line);
    }

    [Fact]
    public void Keys_added_after_the_first_release_are_absent_when_null_and_round_trip_when_present()
    {
        var start = Encode(new LifecycleBody { Event = LifecycleEvent.Start });
        Assert.DoesNotContain("outage", start, StringComparison.Ordinal);
        Assert.DoesNotContain("pruned", start, StringComparison.Ordinal);

        var since = new DateTimeOffset(2025, 3, 1, 11, 59, 0, TimeSpan.Zero);
        AuditBody[] bodies =
        [
            new LifecycleBody
            {
                Event = LifecycleEvent.Resumed,
                Outage = new LogOutage { Since = since, Until = since.AddSeconds(42), Reason = "write: No space left on device", RefusedRequests = 17, LostEntries = 2 },
            },
            new LifecycleBody
            {
                Event = LifecycleEvent.Pruned,
                Pruned = new PrunedRange { FromSeq = 0, ToSeq = 5, Segments = ["00000000000000000000.jsonl.zst"], Frontier = [new string('a', 64), new string('b', 64)], Archived = true },
            },
            SampleEntries.Request(1, since).Body is RequestBody request
                ? request with { Attempts = [new UpstreamAttempt("10.0.0.1:80", "connection refused"), new UpstreamAttempt("10.0.0.2:80", null)] }
                : throw new InvalidOperationException(),
            SampleEntries.Request(2, since).Body is RequestBody traced
                ? traced with { TraceId = "4bf92f3577b34da6a3ce929d0e0e4736" }
                : throw new InvalidOperationException(),
            SampleEntries.Request(3, since).Body is RequestBody webSocket
                ? webSocket with { Status = 101, TraceId = "4bf92f3577b34da6a3ce929d0e0e4736", WebSocket = new WebSocketInfo(1000, WebSocketInfo.Client, 3, 4) }
                : throw new InvalidOperationException(),
            SampleEntries.Request(4, since).Body is RequestBody reset
                ? reset with { WebSocket = new WebSocketInfo(null, null, 0, 17) }
                : throw new InvalidOperationException(),
        ];
        foreach (var body in bodies)
        {
            var line = Encode(body);
            var parsed = EntryParser.TryParseCanonical(Encoding.UTF8.GetBytes(line), new EntryEncoder(), out var error);
            Assert.True(parsed is not null, error);
            Assert.Equal(line, Encode(parsed.Body));
        }

        Assert.Contains("\"outage\":{\"since\":\"2025-03-01T11:59:00.000000Z\",\"until\":\"2025-03-01T11:59:42.000000Z\"", Encode(bodies[0]), StringComparison.Ordinal);
        Assert.EndsWith("\"attempts\":[{\"destination\":\"10.0.0.1:80\",\"error\":\"connection refused\"},{\"destination\":\"10.0.0.2:80\",\"error\":null}]}}", Encode(bodies[2]), StringComparison.Ordinal);
        Assert.EndsWith("\"upstreamError\":null,\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}}", Encode(bodies[3]), StringComparison.Ordinal);
        Assert.DoesNotContain("traceId", Encode(bodies[2]), StringComparison.Ordinal);
        Assert.EndsWith(
            "\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"websocket\":{\"closeStatus\":1000,\"closedBy\":\"client\",\"framesIn\":3,\"framesOut\":4}}}",
            Encode(bodies[4]),
            StringComparison.Ordinal);
        Assert.EndsWith("\"upstreamError\":null,\"websocket\":{\"closeStatus\":null,\"closedBy\":null,\"framesIn\":0,\"framesOut\":17}}}", Encode(bodies[5]), StringComparison.Ordinal);
        Assert.DoesNotContain("websocket", Encode(bodies[3]), StringComparison.Ordinal);
    }

    [Fact]
    public void The_grpc_object_comes_last_with_status_and_message_only_when_known_and_round_trips()
    {
        var sample = (RequestBody)SampleEntries.Request(1, DateTimeOffset.UnixEpoch).Body;
        (RequestBody Body, string End)[] cases =
        [
            (sample with { Grpc = new GrpcCall(0, null, 1, 3) }, "\"upstreamError\":null,\"grpc\":{\"status\":0,\"messagesIn\":1,\"messagesOut\":3}}}"),
            (sample with { Grpc = new GrpcCall(null, null, 1, 2) }, "\"upstreamError\":null,\"grpc\":{\"messagesIn\":1,\"messagesOut\":2}}}"),
            (sample with { Grpc = new GrpcCall(5, "no \"probe\" é", 1, 0) }, "\"grpc\":{\"status\":5,\"message\":\"no \\\"probe\\\" é\",\"messagesIn\":1,\"messagesOut\":0}}}"),
            (sample with { TraceId = "4bf92f3577b34da6a3ce929d0e0e4736", Grpc = new GrpcCall(14, null, 0, 0) }, "\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"grpc\":{\"status\":14,\"messagesIn\":0,\"messagesOut\":0}}}"),
        ];
        foreach (var (body, end) in cases)
        {
            var line = Encode(body);
            Assert.EndsWith(end, line, StringComparison.Ordinal);
            var parsed = EntryParser.TryParseCanonical(Encoding.UTF8.GetBytes(line), new EntryEncoder(), out var error);
            Assert.True(parsed is not null, error);
            Assert.Equal(body.Grpc, ((RequestBody)parsed.Body).Grpc);
        }

        Assert.DoesNotContain("grpc", Encode(sample), StringComparison.Ordinal);
    }

    [Fact]
    public void Strings_are_escaped_as_RFC_8785_says()
    {
        var line = Encode(new SecurityBody
        {
            Action = SecurityAction.Admin,
            Subject = "q\"b\\s/ \b\f\n\r\t\u0001\u001f\u007f é 🎉 <&>'",
            By = "lone \ud800 surrogate",
        });
        Assert.Contains("\"subject\":\"q\\\"b\\\\s/ \\b\\f\\n\\r\\t\\u0001\\u001f\u007f é 🎉 <&>'\"", line, StringComparison.Ordinal);
        Assert.Contains("\"by\":\"lone \uFFFD surrogate\"", line, StringComparison.Ordinal);
        Assert.NotNull(EntryParser.TryParseCanonical(Encoding.UTF8.GetBytes(line), new EntryEncoder(), out _));
    }

    [Fact]
    public void The_config_diff_is_kept_as_JSON_with_its_numbers_verbatim()
    {
        var line = Encode(AuditTestKit.Config());
        Assert.Contains("\"diff\":[{\"op\":\"replace\",\"path\":\"/spec/rules/0/http/paths/0/path\",\"value\":\"/api/v2\"},", line, StringComparison.Ordinal);
        Assert.Contains("\"value\":{\"n\":1.50,\"b\":true,\"z\":null}}]", line, StringComparison.Ordinal);
        Assert.Contains("\"actor\":{\"username\":\"alice\",\"groups\":[\"system:authenticated\"],\"sourceIps\":[\"10.0.0.5\"],\"userAgent\":\"kubectl/v1.31.0\",\"via\":\"admission\"},\"source\":\"kubectl\"", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_request_without_a_route_has_route_null()
    {
        var entry = AuditTestKit.Entry(3);
        var line = Encode(entry.Body);
        Assert.Contains("\"route\":null", line, StringComparison.Ordinal);
        Assert.Contains("\"decision\":{\"decision\":\"would-deny\",\"rule\":\"method\",\"reason\":\"POST not allowed\"}", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Remembering_shared_routes_and_identities_writes_the_same_bytes_as_encoding_them()
    {
        // 200 distinct routes and identities, each used three times in a row and again later,
        // so the 64-slot cache both hits and has objects evicted by others in their slot.
        var routes = Enumerable.Range(0, 200).Select(i => new RouteRef
        {
            Id = $"ns/ing{i}:host/p{i}:Prefix", Namespace = "ns", Ingress = $"ing{i}", Path = $"/p{i}", PathType = "Prefix",
            Service = "svc", Port = "80", Destination = i % 3 == 0 ? null : $"10.0.0.{i % 250}:8080",
        }).ToArray();
        var identities = Enumerable.Range(0, 200).Select(i => new RequestIdentity
        {
            Authenticated = true, Subject = $"user-{i}", Issuer = "https://issuer/", Audience = "api",
            Claims = new Dictionary<string, IReadOnlyList<string>> { ["sub"] = [$"user-{i}"], ["scope"] = ["a b"] },
        }).ToArray();
        var cached = new EntryEncoder(cacheSharedParts: true);
        var plain = new EntryEncoder();
        for (var n = 0; n < 1200; n++)
        {
            var k = n / 3 % 200;
            var body = (RequestBody)AuditTestKit.Entry(0).Body with { Route = k % 7 == 0 ? null : routes[k], Identity = identities[(k * 31) % 200] };
            var ts = DateTimeOffset.UnixEpoch.AddSeconds(n);
            cached.Encode(n, ts, "n1", s_zeros, body);
            plain.Encode(n, ts, "n1", s_zeros, body);
            Assert.Equal(Encoding.UTF8.GetString(plain.Line), Encoding.UTF8.GetString(cached.Line));
        }
    }

    [Theory]
    [InlineData("{\"seq\":7}", "unparseable")]
    [InlineData("not json", "unparseable")]
    [InlineData("", "unparseable")]
    [InlineData("{\"seq\":0,\"seq\":0}", "unparseable")]
    [InlineData("{\"seq\":0,\"ts\":\"2025-03-01T12:00:00.000000Z\",\"kind\":\"nope\"}", "one of request, config, security, lifecycle")]
    [InlineData("{\"seq\":0,\"ts\":\"2025-03-01T12:00:00.000000Z\",\"kind\":\"lifecycle\",\"node\":\"n\",\"prev\":\"00\",\"lifecycle\":{\"event\":\"start\",\"version\":null,\"truncatedBytes\":null,\"truncatedLines\":null,\"segment\":null}}", "prev")]
    [InlineData("{\"seq\":0,\"ts\":\"2025-03-01T12:00:00.000000Z\",\"kind\":\"request\",\"node\":\"n\",\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"lifecycle\":{\"event\":\"start\",\"version\":null,\"truncatedBytes\":null,\"truncatedLines\":null,\"segment\":null}}", "expected key \"request\"")]
    [InlineData("{\"seq\":0,\"ts\":\"2025-03-01T12:00:00.000000Z\",\"kind\":\"lifecycle\",\"node\":\"n\",\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"lifecycle\":{\"event\":\"start\",\"version\":null,\"truncatedBytes\":null,\"truncatedLines\":null,\"segment\":null},\"extra\":1}", "unparseable")]
    [InlineData("{\"seq\":0,\"ts\":\"2025-03-01T12:00:00.0000000Z\",\"kind\":\"lifecycle\",\"node\":\"n\",\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"lifecycle\":{\"event\":\"start\",\"version\":null,\"truncatedBytes\":null,\"truncatedLines\":null,\"segment\":null}}", "canonical")]
    [InlineData("{\"seq\":0,\"ts\":\"2025-03-01T13:00:00.000000+01:00\",\"kind\":\"lifecycle\",\"node\":\"n\",\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"lifecycle\":{\"event\":\"start\",\"version\":null,\"truncatedBytes\":null,\"truncatedLines\":null,\"segment\":null}}", "canonical")]
    [InlineData("{\"seq\":0,\"ts\":\"2025-03-01T12:00:00.000000Z\",\"kind\":\"lifecycle\",\"node\":null,\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"lifecycle\":{\"event\":\"start\",\"version\":null,\"truncatedBytes\":null,\"truncatedLines\":null,\"segment\":null}}", "unparseable")]
    public void Malformed_or_non_canonical_lines_are_rejected_with_a_reason(string line, string reason)
    {
        Assert.Null(EntryParser.TryParseCanonical(Encoding.UTF8.GetBytes(line), new EntryEncoder(), out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}
