namespace AuditGateway.Audit.Entries;

/// <summary>Realistic request entries for the load verb, the crash test and the benchmarks.</summary>
internal static class SampleEntries
{
    private static readonly RouteRef s_route = new()
    {
        Id = "shop/web/api.example.com/api/Prefix",
        Namespace = "shop",
        Ingress = "web",
        Path = "/api",
        PathType = "Prefix",
        Service = "api",
        Port = "8080",
        Destination = "10.1.2.3:8080",
    };

    private static readonly RequestIdentity s_identity = new()
    {
        Authenticated = true,
        Subject = "alice@example.com",
        Issuer = "https://login.example.com/",
        Audience = "api://shop",
        ClientId = "shop-web",
        Claims = new Dictionary<string, IReadOnlyList<string>>
        {
            ["scope"] = ["orders.read", "orders.write"],
            ["roles"] = ["customer"],
        },
    };

    public static AuditEntry Request(long i, DateTimeOffset timestamp) => new(timestamp, new RequestBody
    {
        Id = "0HN7K2Q3S4T5U" + (i % 100_000).ToString("D5", System.Globalization.CultureInfo.InvariantCulture),
        Method = "GET",
        Scheme = "https",
        Host = "api.example.com",
        Path = "/api/orders/12345",
        Query = "page=2&token=REDACTED",
        Protocol = "HTTP/2",
        Client = new ClientEndpoint("203.0.113.7", 51234),
        Forwarded = ["198.51.100.10"],
        UserAgent = "Mozilla/5.0 (X11; Linux x86_64) curl/8.5.0",
        Identity = s_identity,
        Route = s_route,
        Revision = "sha256:4f1c2a9e0b7d",
        Decision = new RequestDecision(Decision.Allow, "shop/web:allow-source-range", null),
        Status = 200,
        BytesIn = 312,
        BytesOut = 4096,
        LatencyUs = 1834,
        UpstreamLatencyUs = 1520,
        Tls = new TlsInfo("api.example.com", "TLSv1.3"),
    });

    /// <summary>
    /// A realistic mix for the 10M-entry benchmarks (deterministic in <paramref name="i"/>): 40 routes of
    /// 8 namespaces, 500 identities (a tenth anonymous), 2,000 clients, mostly 200s with redirects, 404s,
    /// denials (403) and a few 502s, and long-tailed latencies (most a few ms, some up to seconds).
    /// </summary>
    public static AuditEntry Varied(long i, DateTimeOffset timestamp)
    {
        var r = Mix((ulong)i);
        var route = (int)(r % 40);
        var roll = (int)((r >> 8) % 1000);
        var (status, decision) = roll switch
        {
            < 930 => (200, Decision.Allow),
            < 950 => (302, Decision.Allow),
            < 975 => (404, Decision.Allow),
            < 985 => (403, Decision.Deny),
            < 995 => (200, Decision.WouldDeny),
            _ => (502, Decision.Allow),
        };
        var subject = (r >> 20) % 500;
        var upstream = status == 403 ? (long?)null : Latency(r >> 32);
        var overhead = 40 + (long)((r >> 48) % 400);
        var ns = "team" + (route % 8).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var name = "svc" + route.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var sample = (RequestBody)Request(i, timestamp).Body;
        return new AuditEntry(timestamp, sample with
        {
            Id = "0HN7" + i.ToString("X12", System.Globalization.CultureInfo.InvariantCulture),
            Path = "/" + name + "/items/" + ((r >> 12) % 10_000).ToString(System.Globalization.CultureInfo.InvariantCulture),
            Host = ns + ".example.com",
            Client = new ClientEndpoint("10.20." + ((r >> 24) % 8).ToString(System.Globalization.CultureInfo.InvariantCulture) + "." + ((r >> 28) % 250).ToString(System.Globalization.CultureInfo.InvariantCulture), 40_000 + (int)(r % 20_000)),
            Identity = subject < 50
                ? new RequestIdentity { Authenticated = false }
                : s_identity with { Subject = "user" + subject.ToString(System.Globalization.CultureInfo.InvariantCulture) + "@example.com" },
            Route = s_route with { Id = $"{ns}/{name}/{ns}.example.com/{name}/Prefix", Namespace = ns, Ingress = name, Path = "/" + name, Service = name },
            Decision = new RequestDecision(decision, decision == Decision.Allow ? null : ns + "/" + name + ":allow-source-range", decision == Decision.Allow ? null : "client not in an allowed range"),
            Status = status,
            BytesOut = status == 200 ? 512 + (long)((r >> 40) % 16_384) : 128,
            LatencyUs = (upstream ?? 0) + overhead,
            UpstreamLatencyUs = upstream,
        });
    }

    /// <summary>Mostly 0.5–20 ms, one in twenty up to 400 ms, one in five hundred up to 4 s.</summary>
    private static long Latency(ulong r)
    {
        var tail = r % 1000;
        var span = tail < 2 ? 4_000_000UL : tail < 50 ? 400_000UL : 20_000UL;
        return 500 + (long)((r >> 10) % span);
    }

    /// <summary>SplitMix64: a well-spread 64-bit value for each index.</summary>
    private static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
