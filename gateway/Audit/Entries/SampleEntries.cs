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
}
