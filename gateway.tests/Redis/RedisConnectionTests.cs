using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using AuditGateway.Configuration;
using AuditGateway.Demo;
using AuditGateway.Redis;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Redis;

/// <summary>
/// <c>redis.connection</c> (docs/replicas.md): what is accepted and refused, and a gateway process
/// against a real redis-server that is missing at start, wants a password or an ACL user, or speaks TLS.
/// </summary>
[Collection(ReplicaTimingTests.Name)]
public sealed class RedisConnectionTests : IAsyncLifetime
{
    private EchoBackend? _backend;

    private string Manifests => Common.Manifests.Documents(
        Common.Manifests.Backend("web", _backend!.Port),
        Common.Manifests.Ingress("app", [new HostRule("app.test", new PathRule("/", "Prefix", "web", 80))]));

    public async Task InitializeAsync() => _backend = await EchoBackend.StartAsync("web");

    public async Task DisposeAsync() => await _backend!.DisposeAsync();

    [Theory]
    [InlineData("redis://127.0.0.1", "127.0.0.1", 6379, null, null, 0, false)]
    [InlineData("redis://redis.auditgateway.svc:6380/2", "redis.auditgateway.svc", 6380, null, null, 2, false)]
    [InlineData("rediss://gw:s%40cret@cache.example.com:6380", "cache.example.com", 6380, "gw", "s@cret", 0, true)]
    [InlineData("redis://:only-password@127.0.0.1", "127.0.0.1", 6379, null, "only-password", 0, false)]
    [InlineData("redis://only-password@127.0.0.1", "127.0.0.1", 6379, null, "only-password", 0, false)]
    [InlineData("redis://[::1]:7000", "::1", 7000, null, null, 0, false)]
    public void A_connection_URL_gives_host_port_user_password_database_and_TLS(string url, string host, int port, string? user, string? password, int database, bool tls)
    {
        var options = RedisOptions.FromUrl(url);
        Assert.Equal((host, port, user, password, database, tls), (options.Host, options.Port, options.User, options.Password, options.Database, options.Tls));
        Assert.DoesNotContain(password ?? "\0", options.Url!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1:6379", "expected redis://")]
    [InlineData("http://127.0.0.1:6379", "expected redis://")]
    [InlineData("redis://127.0.0.1/x", "not a database number")]
    [InlineData("redis://127.0.0.1/16", "not a database number")]
    [InlineData("redis://u:hunter2@127.0.0.1?ssl=true", "query parameters are not supported")]
    public void A_bad_connection_URL_is_refused_naming_the_key_and_never_showing_the_password(string url, string expected)
    {
        var error = Assert.Throws<OptionException>(() => RedisOptions.FromUrl(url));
        Assert.StartsWith("redis.connection '", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_connection_string_stops_start_up_with_one_line()
    {
        var root = Directory.CreateTempSubdirectory("auditgw-redis-bad-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "m"));
            await File.WriteAllTextAsync(Path.Combine(root, "m", "app.yaml"), Manifests);
            await File.WriteAllTextAsync(Path.Combine(root, "gateway.yaml"), "redis:\n  connection: \"tcp://user:hunter2@127.0.0.1:6379\"\n");
            var run = await AuditgwProcess.RunAsync(
                TimeSpan.FromSeconds(60), "run", "--manifests", Path.Combine(root, "m"), "--config", Path.Combine(root, "gateway.yaml"), "--data", Path.Combine(root, "data"),
                "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0");
            Assert.Equal(2, run.ExitCode);
            var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("redis.connection 'tcp://user:***@127.0.0.1:6379': expected redis://", line, StringComparison.Ordinal);
            Assert.DoesNotContain("hunter2", run.Stdout + run.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task An_unreachable_Redis_at_start_does_not_stop_the_gateway_which_serves_degraded_and_connects_when_Redis_comes()
    {
        await using var redis = await RedisServer.StartAsync();
        await redis.StopAsync();
        await using var set = await ReplicaSet.StartAsync(1, redis.Url, Manifests);
        var replica = set[0];
        Assert.Equal(200, await replica.GetAsync("app.test", "/", System.Net.IPAddress.Loopback));
        await Eventually.TrueAsync(() => Redis(replica) is { Up: false, Reason: not null and not "not connected yet" }, TimeSpan.FromSeconds(10), "readyz says Redis is down, and why");
        var ready = await replica.AdminAsync(HttpMethod.Get, "/readyz");
        Assert.Equal(200, ready.Status);
        Assert.Contains("degraded: Redis redis://127.0.0.1:", ready.Body, StringComparison.Ordinal);
        Assert.Contains("\nauditgw_redis_up 0\n", (await replica.AdminAsync(HttpMethod.Get, "/metrics")).Body, StringComparison.Ordinal);

        await redis.StartAgainAsync();
        await Eventually.TrueAsync(() => Redis(replica) is { Up: true }, TimeSpan.FromSeconds(10), "the gateway connects once Redis is there");
        Assert.Contains("\nauditgw_redis_up 1\n", (await replica.AdminAsync(HttpMethod.Get, "/metrics")).Body, StringComparison.Ordinal);
        await Eventually.TrueAsync(() => replica.Entries().Any(e => e.Kind() == "lifecycle" && e.Body().GetProperty("event").GetString() == "redis-restored"), TimeSpan.FromSeconds(10), "redis-restored is logged");
        var events = replica.Entries().Where(e => e.Kind() == "lifecycle").Select(e => e.Body()).ToList();
        var down = Assert.Single(events, e => e.GetProperty("event").GetString() == "redis-down");
        var restored = Assert.Single(events, e => e.GetProperty("event").GetString() == "redis-restored");
        Assert.Equal(down.GetProperty("redis").GetProperty("since").GetString(), restored.GetProperty("redis").GetProperty("since").GetString());
        Assert.Equal(JsonValueKind.String, restored.GetProperty("redis").GetProperty("until").ValueKind);
        Assert.Single(replica.Output, l => l.Contains("is unreachable", StringComparison.Ordinal));

        var verify = await AuditgwProcess.RunAsync(TimeSpan.FromSeconds(60), "verify", "--data", replica.Data);
        Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);
    }

    [Fact]
    public async Task A_password_an_ACL_user_and_TLS_with_a_private_CA_connect_and_a_wrong_password_is_reported_not_fatal()
    {
        var tlsPort = RedisServer.FreePort();
        using var ca = Authority("auditgw-test-redis-ca");
        var root = Directory.CreateTempSubdirectory("auditgw-redis-tls-").FullName;
        try
        {
            var (caFile, certFile, keyFile) = WriteServerCertificate(ca, root);
            await using var redis = await RedisServer.StartAsync(
                "--requirepass", "default-secret",
                "--user", "gateway", "on", ">gw-secret", "~auditgw:*", "&auditgw:*", "+@all",
                "--tls-port", tlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", caFile, "--tls-auth-clients", "no");

            await using (var set = await ReplicaSet.StartAsync(1, $"redis://:default-secret@127.0.0.1:{redis.Port}", Manifests))
            {
                await Eventually.TrueAsync(() => Redis(set[0]) is { Up: true }, TimeSpan.FromSeconds(10), "the password connects");
                Assert.DoesNotContain(set[0].Output, l => l.Contains("default-secret", StringComparison.Ordinal));
            }

            await using (var set = await ReplicaSet.StartAsync(1, $"rediss://gateway:gw-secret@127.0.0.1:{tlsPort}", Manifests, redisKeys: $"tlsCaFile: \"{caFile}\""))
            {
                await Eventually.TrueAsync(() => Redis(set[0]) is { Up: true }, TimeSpan.FromSeconds(10), "the ACL user connects over TLS, trusting only the given CA");
                // The ACL allows only auditgw:* keys and channels: a block is shared under them.
                await set[0].GetAsync("app.test", "/.env", System.Net.IPAddress.Parse("127.0.9.1"));
                await using var client = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redis.Port},user=gateway,password=gw-secret");
                await Eventually.TrueAsync(() => client.GetDatabase().HashExists("auditgw:blocks", "127.0.9.1"), TimeSpan.FromSeconds(10), "the block is in auditgw:blocks");
            }

            await using (var set = await ReplicaSet.StartAsync(1, $"redis://gateway:wrong@127.0.0.1:{redis.Port}", Manifests))
            {
                await Eventually.TrueAsync(() => Redis(set[0]) is { Up: false, Reason: not null and not "not connected yet" }, TimeSpan.FromSeconds(10), "a wrong password leaves the gateway degraded");
                Assert.Equal(200, await set[0].GetAsync("app.test", "/", System.Net.IPAddress.Loopback));
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private sealed record RedisState(bool Up, string? Reason);

    private static RedisState? Redis(ReplicaSet.Replica replica)
    {
        var (_, body) = replica.AdminAsync(HttpMethod.Get, "/readyz").GetAwaiter().GetResult();
        using var document = JsonDocument.Parse(body);
        if (!document.RootElement.TryGetProperty("redis", out var redis))
        {
            return null;
        }

        return new RedisState(redis.GetProperty("up").GetBoolean(), redis.TryGetProperty("reason", out var reason) ? reason.GetString() : null);
    }

    private static X509Certificate2 Authority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>A server certificate for 127.0.0.1 signed by <paramref name="ca"/>; the PEM files redis-server and the gateway read.</summary>
    private static (string Ca, string Cert, string Key) WriteServerCertificate(X509Certificate2 ca, string directory)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(8));
        var files = (Path.Combine(directory, "ca.pem"), Path.Combine(directory, "server.pem"), Path.Combine(directory, "server.key"));
        File.WriteAllText(files.Item1, ca.ExportCertificatePem());
        File.WriteAllText(files.Item2, server.ExportCertificatePem());
        File.WriteAllText(files.Item3, key.ExportPkcs8PrivateKeyPem());
        return files;
    }
}
