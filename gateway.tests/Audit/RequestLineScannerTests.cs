using System.Text;
using AuditGateway.Audit.Entries;

namespace AuditGateway.Tests.Audit;

/// <summary>
/// The scanner that proves request lines canonical without parsing them must accept exactly what
/// parsing and re-encoding accepts, on every line it decides (a line without escapes or control
/// characters); anything else it leaves to the full check.
/// </summary>
public sealed class RequestLineScannerTests
{
    private static readonly byte[] s_prev = Convert.FromHexString("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");

    private static readonly DateTimeOffset s_time = new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero).AddTicks(1234560);

    /// <summary>Request bodies of every shape the encoder writes: optional keys absent and present, nulls, odd numbers, non-ASCII text.</summary>
    private static IEnumerable<RequestBody> Requests()
    {
        var sample = (RequestBody)SampleEntries.Request(42, s_time).Body;
        yield return sample;
        yield return sample with { Route = null, Tls = null, Query = null, UserAgent = null, UpstreamLatencyUs = null, Forwarded = [] };
        yield return sample with { Identity = RequestIdentity.Anonymous, Decision = new RequestDecision(Decision.Deny, null, null), Status = 403 };
        yield return sample with { Decision = new RequestDecision(Decision.WouldDeny, "r", "why"), UpstreamError = "connect refused" };
        yield return sample with { Attempts = [new UpstreamAttempt("10.0.0.1:80", "reset"), new UpstreamAttempt("10.0.0.2:80", null)] };
        yield return sample with { Attempts = [], TraceId = "4bf92f3577b34da6a3ce929d0e0e4736" };
        yield return sample with { TraceId = "0af7651916cd43dd8448eb211c80319c" };
        yield return sample with { Status = 101, WebSocket = new WebSocketInfo(1000, WebSocketInfo.Client, 3, 3) };
        yield return sample with { TraceId = "0af7651916cd43dd8448eb211c80319c", Attempts = [], WebSocket = new WebSocketInfo(null, null, 0, long.MaxValue) };
        yield return sample with { WebSocket = new WebSocketInfo(-1, WebSocketInfo.Backend, long.MinValue, 0) };
        yield return sample with { Status = -1, BytesIn = long.MaxValue, BytesOut = long.MinValue, LatencyUs = 0, UpstreamLatencyUs = -7 };
        yield return sample with { Status = int.MaxValue, Client = new ClientEndpoint("::1", int.MinValue) };
        yield return sample with { Path = "/ünïcödé/🎉/日本", Host = "", Tls = new TlsInfo(null, "TLSv1.2") };
        yield return sample with
        {
            Identity = new RequestIdentity
            {
                Authenticated = true,
                Subject = "s",
                Claims = new Dictionary<string, IReadOnlyList<string>> { ["a"] = [], ["b"] = ["1", "2", "3"], ["ab"] = ["x"] },
            },
        };
        yield return sample with { Identity = new RequestIdentity { Claims = new Dictionary<string, IReadOnlyList<string>>() } };
        yield return sample with { Identity = new RequestIdentity { Authenticated = false, Subject = "not-validated" } };
        yield return sample with { Route = new RouteRef { Id = "x", Namespace = "n", Ingress = "i", Path = "/", PathType = "Exact", Service = "s", Port = "http" } };
        foreach (var grpc in GrpcCalls())
        {
            yield return sample with { Grpc = grpc };
        }

        yield return sample with { TraceId = "4bf92f3577b34da6a3ce929d0e0e4736", Attempts = [], Grpc = new GrpcCall(14, null, 0, 0) };
    }

    /// <summary>The <c>grpc</c> object with its optional keys absent and present.</summary>
    private static IEnumerable<GrpcCall> GrpcCalls() =>
    [
        new(0, null, 1, 3),
        new(null, null, 1, 2),
        new(5, "no probe named ünï 🎉", 1, 0),
        new(null, "", long.MaxValue, 0),
        new(int.MinValue, "m", -1, long.MinValue),
    ];

    private static byte[] Encode(AuditBody body, long seq = 7, DateTimeOffset? time = null)
    {
        var encoder = new EntryEncoder();
        encoder.Encode(seq, time ?? s_time, "node-1", s_prev, body);
        return encoder.Line.ToArray();
    }

    /// <summary>What <c>verify</c> decided before the scanner: parse, re-encode, compare.</summary>
    private static bool Canonical(byte[] line) => EntryParser.TryParseCanonical(line, new EntryEncoder(), out _) is not null;

    private static bool Scans(byte[] line) => RequestLineScanner.TryScan(line, new byte[32], out _);

    /// <summary>The lines the scanner decides: no escape and no control character.</summary>
    private static bool Decided(byte[] line) => !line.AsSpan().Contains((byte)'\\') && !line.AsSpan().ContainsAnyInRange((byte)0, (byte)0x1f);

    [Fact]
    public void Request_lines_of_every_shape_are_proved_canonical_with_the_figures_of_the_parsed_entry()
    {
        var seq = 0L;
        foreach (var body in Requests())
        {
            var time = s_time.AddDays(seq * 97).AddTicks(seq * 10);
            var line = Encode(body, seq * 1_000_003, time);
            var prev = new byte[32];

            Assert.True(RequestLineScanner.TryScan(line, prev, out var scanned), Encoding.UTF8.GetString(line));

            var entry = EntryParser.TryParseCanonical(line, new EntryEncoder(), out var error);
            Assert.True(entry is not null, error);
            var request = (RequestBody)entry.Body;
            var facts = RequestFacts.Of(entry, request, null);
            Assert.Equal(facts with { Rule = null, Subject = null, ClientIp = null }, scanned.Facts);
            string? Text((int Start, int Length) span) => span.Start < 0 ? null : Encoding.UTF8.GetString(line.AsSpan(span.Start, span.Length));
            Assert.Equal((facts.Rule, facts.Subject, facts.ClientIp), (Text(scanned.Rule), Text(scanned.Subject), Text(scanned.Client)));
            Assert.Equal(s_prev, prev);
            Assert.Equal("node-1", Encoding.UTF8.GetString(line.AsSpan(scanned.Node.Start, scanned.Node.Length)));
            var route = scanned.Route.Start < 0 ? null : Encoding.UTF8.GetString(line.AsSpan(scanned.Route.Start, scanned.Route.Length));
            Assert.Equal(request.Route?.Id, route);
            seq++;
        }
    }

    [Fact]
    public void Other_kinds_and_lines_with_escapes_are_left_to_the_full_check()
    {
        for (var i = 1; i < 4; i++)
        {
            var entry = AuditTestKit.Entry(i);
            var line = Encode(entry.Body);
            Assert.True(Canonical(line));
            Assert.False(Scans(line));
        }
    }

    [Fact]
    public void Every_single_byte_change_of_a_request_line_is_accepted_exactly_when_the_re_encode_accepts_it()
    {
        var lines = Requests().Take(5).Append(Requests().First(b => b.WebSocket is not null));
        var mutants = lines.Sum(b => MutateEveryByte(Encode(b)));
        Assert.True(mutants > 10_000);
    }

    [Fact]
    public void Every_single_byte_change_of_a_grpc_object_is_accepted_exactly_when_the_re_encode_accepts_it()
    {
        foreach (var grpc in GrpcCalls().Take(3))
        {
            var line = Encode((RequestBody)SampleEntries.Request(1, s_time).Body with { Grpc = grpc });
            Assert.True(MutateEveryByte(line, from: line.AsSpan().IndexOf(",\"grpc\":"u8)) > 1000);
        }
    }

    /// <summary>
    /// Checks that the scanner and the re-encode agree on every change of one byte of <paramref name="line"/>
    /// at or after <paramref name="from"/>: replaced, removed, or preceded by white space or another byte.
    /// Returns how many changed lines were checked.
    /// </summary>
    private static int MutateEveryByte(byte[] line, int from = 0)
    {
        byte[] replacements = [(byte)' ', (byte)'0', (byte)'9', (byte)'-', (byte)'a', (byte)'A', (byte)'"', (byte)',', (byte)'}', (byte)'n', 0xC3, 0xFF, (byte)'\\', 0x01];
        var mutants = 0;
        for (var at = from; at < line.Length; at++)
        {
            foreach (var b in replacements)
            {
                if (line[at] != b)
                {
                    Check([.. line[..at], b, .. line[(at + 1)..]]);
                }

                Check([.. line[..at], b, .. line[at..]]);
            }

            Check([.. line[..at], .. line[(at + 1)..]]);
        }

        return mutants;

        void Check(byte[] mutant)
        {
            mutants++;
            AssertSameVerdict(mutant);
        }
    }

    [Theory]
    // Numbers: other forms of the same value, out of range for the field, not integers.
    [InlineData("\"status\":200", "\"status\":200.0")]
    [InlineData("\"status\":200", "\"status\":0200")]
    [InlineData("\"status\":200", "\"status\":2e2")]
    [InlineData("\"status\":200", "\"status\":+200")]
    [InlineData("\"status\":200", "\"status\":4294967496")]
    [InlineData("\"status\":200", "\"status\":\"200\"")]
    [InlineData("\"status\":200", "\"status\":null")]
    [InlineData("\"latencyUs\":1834", "\"latencyUs\":-0")]
    [InlineData("\"latencyUs\":1834", "\"latencyUs\":9223372036854775808")]
    [InlineData("\"latencyUs\":1834", "\"latencyUs\":-9223372036854775809")]
    [InlineData("\"latencyUs\":1834", "\"latencyUs\":-9223372036854775808")]
    [InlineData("\"latencyUs\":1834", "\"latencyUs\":99999999999999999999")]
    [InlineData("\"latencyUs\":1834", "\"latencyUs\":null")]
    [InlineData("\"upstreamLatencyUs\":1520", "\"upstreamLatencyUs\":null")]
    [InlineData("\"upstreamLatencyUs\":1520", "\"upstreamLatencyUs\":1520.5")]
    [InlineData("\"port\":51234", "\"port\":-0")]
    [InlineData("\"seq\":7", "\"seq\":-7")]
    [InlineData("\"seq\":7", "\"seq\":07")]
    // Timestamps: other forms of the same instant, impossible dates and times.
    [InlineData("12:00:00.123456Z", "12:00:00.1234560Z")]
    [InlineData("12:00:00.123456Z", "12:00:00.12345Z")]
    [InlineData("12:00:00.123456Z", "12:00:00.123456z")]
    [InlineData("12:00:00.123456Z", "12:00:00.123456+00:00")]
    [InlineData("12:00:00.123456Z", "12:00:60.123456Z")]
    [InlineData("12:00:00.123456Z", "24:00:00.123456Z")]
    [InlineData("12:00:00.123456Z", "12:60:00.123456Z")]
    [InlineData("2025-03-01T", "2025-02-29T")]
    [InlineData("2025-03-01T", "2024-02-29T")]
    [InlineData("2025-03-01T", "2025-13-01T")]
    [InlineData("2025-03-01T", "2025-03-00T")]
    [InlineData("2025-03-01T", "0000-03-01T")]
    [InlineData("2025-03-01T", "9999-12-31T")]
    [InlineData("2025-03-01T", "0001-01-01T")]
    [InlineData("2025-03-01T", "2025-03-01 ")]
    // Strings and names: escapes of ordinary characters, other key orders, other spellings.
    [InlineData("\"method\":\"GET\"", "\"method\":\"G\\u0045T\"")]
    [InlineData("\"method\":\"GET\"", "\"m\\u0065thod\":\"GET\"")]
    [InlineData("\"method\":\"GET\"", "\"method\":\"GE\\/T\"")]
    [InlineData("\"method\":\"GET\"", "\"method\":null")]
    [InlineData("\"method\":\"GET\"", "\"method\" : \"GET\"")]
    [InlineData("\"method\":\"GET\",\"scheme\":\"https\"", "\"scheme\":\"https\",\"method\":\"GET\"")]
    [InlineData("\"query\":\"page=2&token=REDACTED\"", "\"query\":null")]
    [InlineData("\"query\":\"page=2&token=REDACTED\"", "\"query\":\"caf\u00e9\"")]
    [InlineData("\"query\":\"page=2&token=REDACTED\"", "\"query\":\"tab\\there\"")]
    [InlineData("\"query\":\"page=2&token=REDACTED\"", "\"query\":\"ctl\\u001fhere\"")]
    [InlineData("\"query\":\"page=2&token=REDACTED\"", "\"query\":\"ctl\\u001Fhere\"")]
    [InlineData("\"query\":\"page=2&token=REDACTED\"", "\"query\":\"sur\\ud83c\\udf89\"")]
    [InlineData("\"query\":\"page=2&token=REDACTED\"", "\"query\":\"lone\\ud83c\"")]
    [InlineData("\"kind\":\"request\"", "\"kind\":\"Request\"")]
    [InlineData("\"kind\":\"request\"", "\"kind\":\"config\"")]
    [InlineData("\"decision\":\"allow\"", "\"decision\":\"deny\"")]
    [InlineData("\"decision\":\"allow\"", "\"decision\":\"would-deny\"")]
    [InlineData("\"decision\":\"allow\"", "\"decision\":\"Allow\"")]
    [InlineData("\"decision\":\"allow\"", "\"decision\":\"allowed\"")]
    [InlineData("\"decision\":\"allow\"", "\"decision\":\"al\\u006cow\"")]
    [InlineData("\"authenticated\":true", "\"authenticated\":false")]
    [InlineData("\"authenticated\":true", "\"authenticated\":1")]
    [InlineData("\"authenticated\":true", "\"authenticated\":null")]
    [InlineData("\"prev\":\"0011", "\"prev\":\"0O11")]
    [InlineData("aabbccddeeff\",\"request\"", "AABBCCDDEEFF\",\"request\"")]
    // Objects and arrays: nulls where the encoder never writes one, optional keys half there.
    [InlineData("\"forwarded\":[\"198.51.100.10\"]", "\"forwarded\":null")]
    [InlineData("\"forwarded\":[\"198.51.100.10\"]", "\"forwarded\":[null]")]
    [InlineData("\"forwarded\":[\"198.51.100.10\"]", "\"forwarded\":[\"198.51.100.10\",]")]
    [InlineData("\"forwarded\":[\"198.51.100.10\"]", "\"forwarded\":[]")]
    [InlineData("\"roles\":[\"customer\"]", "\"scope\":[\"customer\"]")]
    [InlineData("\"roles\":[\"customer\"]", "\"roles\":\"customer\"")]
    [InlineData("\"roles\":[\"customer\"]", "\"roles\":null")]
    [InlineData("\"claims\":{", "\"claims\":{\"scope\":[],")]
    [InlineData("\"tls\":{\"sni\":\"api.example.com\",\"version\":\"TLSv1.3\"}", "\"tls\":null")]
    [InlineData("\"tls\":{\"sni\":\"api.example.com\",\"version\":\"TLSv1.3\"}", "\"tls\":{\"sni\":null,\"version\":null}")]
    [InlineData("\"tls\":{\"sni\":\"api.example.com\",\"version\":\"TLSv1.3\"}", "\"tls\":{\"version\":\"TLSv1.3\"}")]
    [InlineData("\"route\":{\"id\"", "\"route\":null,\"x\":{\"id\"")]
    [InlineData("\"destination\":\"10.1.2.3:8080\"", "\"destination\":null")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"traceId\":\"abc\"}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"traceId\":null}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"traceId\":\"abc\",\"attempts\":[]}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"attempts\":[],\"traceId\":\"abc\"}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"attempts\":null}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"attempts\":[{\"destination\":\"d\",\"error\":null}]}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"attempts\":[{\"destination\":null,\"error\":null}]}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"attempts\":[{\"error\":null,\"destination\":\"d\"}]}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"attempts\":[{\"destination\":\"d\",\"error\":\"e\"},]}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"extra\":1}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"websocket\":{\"closeStatus\":1000,\"closedBy\":\"client\",\"framesIn\":3,\"framesOut\":3}}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"websocket\":{\"closeStatus\":null,\"closedBy\":null,\"framesIn\":0,\"framesOut\":0}}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"websocket\":null}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"websocket\":{}}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"websocket\":{\"closeStatus\":4294967296,\"closedBy\":null,\"framesIn\":0,\"framesOut\":0}}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"websocket\":{\"closeStatus\":1000,\"closedBy\":\"client\",\"framesIn\":null,\"framesOut\":3}}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"websocket\":{\"closedBy\":\"client\",\"closeStatus\":1000,\"framesIn\":3,\"framesOut\":3}}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"websocket\":{\"closeStatus\":1000,\"closedBy\":\"client\",\"framesIn\":3}}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"websocket\":{\"closeStatus\":1000,\"closedBy\":\"client\",\"framesIn\":3,\"framesOut\":3},\"traceId\":\"abc\"}")]
    [InlineData("\"upstreamError\":null}", "\"upstreamError\":null,\"traceId\":\"abc\",\"websocket\":{\"closeStatus\":1000,\"closedBy\":\"client\",\"framesIn\":3,\"framesOut\":3}}")]
    [InlineData("\"upstreamError\":null}}", "\"upstreamError\":null}} ")]
    [InlineData("\"upstreamError\":null}}", "\"upstreamError\":null}}\r")]
    [InlineData("\"upstreamError\":null}}", "\"upstreamError\":null}}{}")]
    [InlineData("\"upstreamError\":null}}", "\"upstreamError\":null},\"x\":1}")]
    [InlineData("{\"seq\"", " {\"seq\"")]
    [InlineData("{\"seq\"", "\ufeff{\"seq\"")]
    public void A_changed_request_line_is_accepted_exactly_when_the_re_encode_accepts_it(string from, string to) =>
        AssertSameVerdictReplacing((RequestBody)SampleEntries.Request(42, s_time).Body, from, to);

    [Theory]
    [InlineData("\"grpc\":{\"status\":5,", "\"grpc\":{\"status\":null,")]
    [InlineData("\"grpc\":{\"status\":5,", "\"grpc\":{\"status\":\"5\",")]
    [InlineData("\"grpc\":{\"status\":5,", "\"grpc\":{\"status\":05,")]
    [InlineData("\"grpc\":{\"status\":5,", "\"grpc\":{\"status\":4294967301,")]
    [InlineData("\"grpc\":{\"status\":5,", "\"grpc\":{")]
    [InlineData("\"grpc\":{\"status\":5,", "\"grpc\":{\"status\":5,\"status\":5,")]
    [InlineData("\"message\":\"gone\",", "")]
    [InlineData("\"message\":\"gone\",", "\"message\":null,")]
    [InlineData("\"message\":\"gone\",", "\"message\":\"g\\u006fne\",")]
    [InlineData("\"status\":5,\"message\":\"gone\",", "\"message\":\"gone\",\"status\":5,")]
    [InlineData("\"messagesIn\":1,\"messagesOut\":0}", "\"messagesOut\":0,\"messagesIn\":1}")]
    [InlineData("\"messagesIn\":1,\"messagesOut\":0}", "\"messagesIn\":1}")]
    [InlineData("\"messagesIn\":1,\"messagesOut\":0}", "\"messagesIn\":1,\"messagesOut\":null}")]
    [InlineData("\"messagesIn\":1,\"messagesOut\":0}", "\"messagesIn\":1,\"messagesOut\":0,}")]
    [InlineData("\"messagesIn\":1,\"messagesOut\":0}", "\"messagesIn\":1,\"messagesOut\":-0}")]
    [InlineData(",\"grpc\":{\"status\":5,\"message\":\"gone\",\"messagesIn\":1,\"messagesOut\":0}", ",\"grpc\":null")]
    [InlineData(",\"grpc\":{\"status\":5,\"message\":\"gone\",\"messagesIn\":1,\"messagesOut\":0}", ",\"grpc\":{}")]
    [InlineData(",\"grpc\":{\"status\":5,\"message\":\"gone\",\"messagesIn\":1,\"messagesOut\":0}", "")]
    public void A_changed_grpc_object_is_accepted_exactly_when_the_re_encode_accepts_it(string from, string to) =>
        AssertSameVerdictReplacing((RequestBody)SampleEntries.Request(42, s_time).Body with { Grpc = new GrpcCall(5, "gone", 1, 0) }, from, to);

    [Fact]
    public void Claims_with_a_repeated_name_are_refused_like_the_parser_refuses_them()
    {
        var line = Encoding.UTF8.GetString(Encode(SampleEntries.Request(1, s_time).Body));
        var repeated = Encoding.UTF8.GetBytes(line.Replace("\"roles\":", "\"scope\":", StringComparison.Ordinal));

        Assert.False(Canonical(repeated));
        Assert.False(Scans(repeated));
    }

    [Fact]
    public void Lines_with_more_claims_than_the_scanner_compares_are_left_to_the_full_check()
    {
        var claims = Enumerable.Range(0, RequestLineScanner.MostClaims + 1).ToDictionary(i => "c" + i, i => (IReadOnlyList<string>)["v"]);
        var body = (RequestBody)SampleEntries.Request(1, s_time).Body with { Identity = new RequestIdentity { Claims = claims } };
        var line = Encode(body);

        Assert.True(Canonical(line));
        Assert.False(Scans(line));
    }

    /// <summary>The line of <paramref name="body"/> with <paramref name="from"/> (which it has) replaced: the same verdict from both.</summary>
    private static void AssertSameVerdictReplacing(RequestBody body, string from, string to)
    {
        var line = Encoding.UTF8.GetString(Encode(body));
        Assert.Contains(from, line, StringComparison.Ordinal);

        AssertSameVerdict(Encoding.UTF8.GetBytes(line.Replace(from, to, StringComparison.Ordinal)));
    }

    /// <summary>The scanner never accepts a line the re-encode refuses, and decides the lines it decides the same way.</summary>
    private static void AssertSameVerdict(byte[] line)
    {
        var canonical = Canonical(line);
        var scans = Scans(line);
        if (scans)
        {
            Assert.True(canonical, "the scanner accepts a line the re-encode refuses: " + Encoding.UTF8.GetString(line));
        }
        else if (Decided(line))
        {
            Assert.False(canonical, "the scanner refuses a canonical request line: " + Encoding.UTF8.GetString(line));
        }
    }
}
