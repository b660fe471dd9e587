using AuditGateway.Policy.Identity;
using AuditGateway.Tests.Common;
using Microsoft.Extensions.Logging.Abstractions;

namespace AuditGateway.Tests.Policy.Identity;

/// <summary>Fetching, caching and rotating keys from a real JWKS endpoint on 127.0.0.1.</summary>
public sealed class JwksKeySourceTests : IAsyncLifetime, IDisposable
{
    private readonly ManualTimeProvider _time = new();
    private readonly TestKey _first = TestKey.Shared("k1", () => TestKey.Rsa("k1"));
    private readonly TestKey _second = TestKey.Shared("ec k2", () => TestKey.Ec("k2"));
    private readonly HttpClient _http = new();
    private JwksServer _server = null!;

    public async Task InitializeAsync() => _server = await JwksServer.StartAsync(TestKey.Jwks(_first));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _http.Dispose();

    private (JwtAuthenticator Authenticator, JwksKeySource Source) Create(ILogger<JwksKeySource>? logger = null)
    {
        var options = new JwtOptions { Issuers = [new JwtIssuerOptions { Issuer = Tokens.Issuer, Audiences = [Tokens.Audience], JwksUri = _server.Uri }] };
        var source = new JwksKeySource(_server.Uri, _http, _time, logger ?? NullLogger<JwksKeySource>.Instance);
        return (new JwtAuthenticator(options, [source], _time), source);
    }

    private Task<JwtResult> Authenticate(JwtAuthenticator authenticator, TestKey key) =>
        authenticator.AuthenticateAsync("Bearer " + Tokens.Mint(key, _time.GetUtcNow()), CancellationToken.None).AsTask();

    [Fact]
    public async Task Keys_are_fetched_once_and_cached()
    {
        var (authenticator, _) = Create();
        using var _ = authenticator;

        Assert.True((await Authenticate(authenticator, _first)).Succeeded);
        Assert.True((await Authenticate(authenticator, _first)).Succeeded);
        _time.Advance(TimeSpan.FromMinutes(9));
        Assert.True((await Authenticate(authenticator, _first)).Succeeded);

        Assert.Equal(1, _server.Requests);
    }

    [Fact]
    public async Task A_key_of_a_type_the_gateway_cannot_use_is_skipped_with_one_line_and_the_others_keep_working()
    {
        var logs = new LogCollector();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        _server.Document = $"{{\"keys\":[{TestKey.MlDsaJwk("pq-1")},{_first.Jwk()}]}}";
        var (authenticator, source) = Create(loggers.CreateLogger<JwksKeySource>());
        using var _ = authenticator;

        Assert.True((await Authenticate(authenticator, _first)).Succeeded);
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.True((await Authenticate(authenticator, _first)).Succeeded);
        await source.BackgroundRefresh;

        Assert.Equal(2, _server.Requests);
        var skipped = Assert.Single(logs.Containing(LogLevel.Warning, _server.Uri.ToString(), "key 'pq-1'", "kty AKP", "ML-DSA-65", "skipped"));
        Assert.DoesNotContain("pub", skipped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Warm_up_fetches_before_the_first_request()
    {
        var (authenticator, _) = Create();
        using var _ = authenticator;

        await authenticator.WarmUpAsync(CancellationToken.None);

        Assert.Equal(1, _server.Requests);
    }

    [Fact]
    public async Task A_new_kid_triggers_a_refetch_so_rotation_works()
    {
        var (authenticator, _) = Create();
        using var _ = authenticator;
        Assert.True((await Authenticate(authenticator, _first)).Succeeded);

        _server.Document = TestKey.Jwks(_first, _second);
        _time.Advance(TimeSpan.FromSeconds(31));
        var result = await Authenticate(authenticator, _second);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(2, _server.Requests);
    }

    [Fact]
    public async Task Unknown_kid_refetches_at_most_once_per_interval()
    {
        var (authenticator, _) = Create();
        using var _ = authenticator;
        Assert.True((await Authenticate(authenticator, _first)).Succeeded);
        _time.Advance(TimeSpan.FromSeconds(31));

        var stranger = TestKey.Shared("stranger", () => TestKey.Rsa("stranger"));
        Assert.Equal(JwtFailureReason.UnknownKey, (await Authenticate(authenticator, stranger)).Reason);
        Assert.Equal(JwtFailureReason.UnknownKey, (await Authenticate(authenticator, stranger)).Reason);
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(JwtFailureReason.UnknownKey, (await Authenticate(authenticator, stranger)).Reason);
        Assert.Equal(2, _server.Requests);

        _time.Advance(TimeSpan.FromSeconds(21));
        Assert.Equal(JwtFailureReason.UnknownKey, (await Authenticate(authenticator, stranger)).Reason);
        Assert.Equal(3, _server.Requests);
    }

    [Fact]
    public async Task Right_after_a_fetch_a_new_kid_waits_for_the_interval()
    {
        var (authenticator, _) = Create();
        using var _ = authenticator;
        Assert.True((await Authenticate(authenticator, _first)).Succeeded);
        _server.Document = TestKey.Jwks(_first, _second);

        Assert.Equal(JwtFailureReason.UnknownKey, (await Authenticate(authenticator, _second)).Reason);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True((await Authenticate(authenticator, _second)).Succeeded);
    }

    [Fact]
    public async Task Stale_keys_are_refreshed_in_the_background()
    {
        var (authenticator, source) = Create();
        using var _ = authenticator;
        Assert.True((await Authenticate(authenticator, _first)).Succeeded);

        _server.Document = TestKey.Jwks(_second);
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.True((await Authenticate(authenticator, _first)).Succeeded, "the old set serves while the refresh runs");
        await source.BackgroundRefresh;

        Assert.Equal(2, _server.Requests);
        Assert.Equal(JwtFailureReason.UnknownKey, (await Authenticate(authenticator, _first)).Reason);
        Assert.True((await Authenticate(authenticator, _second)).Succeeded);
    }

    [Fact]
    public async Task A_failed_refresh_keeps_the_last_good_keys()
    {
        var (authenticator, source) = Create();
        using var _ = authenticator;
        Assert.True((await Authenticate(authenticator, _first)).Succeeded);

        _server.Failing = true;
        _time.Advance(TimeSpan.FromMinutes(11));
        Assert.True((await Authenticate(authenticator, _first)).Succeeded);
        await source.BackgroundRefresh;
        Assert.True((await Authenticate(authenticator, _first)).Succeeded);
        Assert.Equal(2, _server.Requests);

        // Garbage instead of a JWKS is a failure too, and the old keys still serve.
        _server.Failing = false;
        _server.Document = "{\"keys\": \"nope\"}";
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True((await Authenticate(authenticator, _first)).Succeeded);
        await source.BackgroundRefresh;
        Assert.True((await Authenticate(authenticator, _first)).Succeeded);
        Assert.Equal(3, _server.Requests);
    }

    [Fact]
    public async Task A_hanging_JWKS_endpoint_times_out_on_the_fake_clock_and_old_keys_stay()
    {
        var (authenticator, source) = Create();
        using var _ = authenticator;
        Assert.True((await Authenticate(authenticator, _first)).Succeeded);

        _server.Hanging = true;
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.True((await Authenticate(authenticator, _first)).Succeeded);
        await _server.Arrived.Task;
        Assert.False(source.BackgroundRefresh.IsCompleted);

        _time.Advance(JwksTiming.Default.FetchTimeout);
        await source.BackgroundRefresh;

        Assert.True((await Authenticate(authenticator, _first)).Succeeded);
    }

    [Fact]
    public async Task Without_any_keys_tokens_are_refused_as_keys_unavailable()
    {
        _server.Failing = true;
        var (authenticator, _) = Create();
        using var _ = authenticator;

        var result = await Authenticate(authenticator, _first);

        Assert.Equal(JwtFailureReason.KeysUnavailable, result.Reason);
        Assert.Equal(1, _server.Requests);

        _server.Failing = false;
        Assert.Equal(JwtFailureReason.KeysUnavailable, (await Authenticate(authenticator, _first)).Reason);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True((await Authenticate(authenticator, _first)).Succeeded);
    }
}
