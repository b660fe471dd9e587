using AuditGateway.Policy.Identity;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Policy.Identity;

/// <summary>A verified token is remembered briefly; the memory never outlives the token or the TTL.</summary>
public sealed class VerifiedTokenCacheTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly TestKey _rsa = TestKey.Shared("rsa-1", () => TestKey.Rsa("rsa-1"));

    [Fact]
    public async Task A_verified_token_is_remembered_and_served_from_memory()
    {
        var (authenticator, keys) = Create();
        var token = Tokens.Mint(_rsa, _time.GetUtcNow(), lifetime: TimeSpan.FromMinutes(10));

        Assert.True((await authenticator.ValidateTokenAsync(token, CancellationToken.None)).Succeeded);
        Assert.Equal(1, authenticator.RememberedTokens);
        var first = await authenticator.ValidateTokenAsync(token, CancellationToken.None);
        var second = await authenticator.ValidateTokenAsync(token, CancellationToken.None);
        Assert.Same(first, second);
    }

    [Fact]
    public async Task The_memory_ends_after_the_ttl()
    {
        var (authenticator, _) = Create();
        var token = Tokens.Mint(_rsa, _time.GetUtcNow(), lifetime: TimeSpan.FromMinutes(10));
        var first = await authenticator.ValidateTokenAsync(token, CancellationToken.None);

        _time.Advance(VerifiedTokenCache.Ttl + TimeSpan.FromSeconds(1));
        var again = await authenticator.ValidateTokenAsync(token, CancellationToken.None);
        Assert.True(again.Succeeded);
        Assert.NotSame(first, again);
    }

    [Fact]
    public async Task A_new_key_set_ends_the_memory()
    {
        var (authenticator, keys) = Create();
        var token = Tokens.Mint(_rsa, _time.GetUtcNow(), lifetime: TimeSpan.FromMinutes(10));
        Assert.True((await authenticator.ValidateTokenAsync(token, CancellationToken.None)).Succeeded);

        keys.Current = new KeySet([], _time.GetUtcNow());
        Assert.Equal(JwtFailureReason.UnknownKey, (await authenticator.ValidateTokenAsync(token, CancellationToken.None)).Reason);
    }

    [Fact]
    public async Task A_remembered_token_is_checked_in_full_again_once_it_expires()
    {
        var (authenticator, _) = Create();
        var token = Tokens.Mint(_rsa, _time.GetUtcNow(), lifetime: TimeSpan.FromSeconds(20));
        Assert.True((await authenticator.ValidateTokenAsync(token, CancellationToken.None)).Succeeded);

        // Past exp + the default 30 s skew: the memory ended at exp, and the full check refuses it.
        _time.Advance(TimeSpan.FromSeconds(51));
        var result = await authenticator.ValidateTokenAsync(token, CancellationToken.None);
        Assert.Equal(JwtFailureReason.Expired, result.Reason);
        Assert.Equal(0, authenticator.RememberedTokens);
    }

    [Fact]
    public async Task A_token_with_a_remembered_signature_but_another_payload_is_checked_in_full()
    {
        var (authenticator, _) = Create();
        var token = Tokens.Mint(_rsa, _time.GetUtcNow(), lifetime: TimeSpan.FromMinutes(10));
        var header = "Bearer " + token;
        Assert.True((await authenticator.AuthenticateAsync(header, CancellationToken.None)).Succeeded);

        // Same length and the same signature (the memory hashes only the tail), one payload character changed.
        var dot = token.IndexOf('.', StringComparison.Ordinal) + 1;
        var forged = string.Concat(token.AsSpan(0, dot), token[dot] == 'e' ? "f" : "e", token.AsSpan(dot + 1));
        Assert.Equal(token.Length, forged.Length);
        Assert.Equal(token[^32..], forged[^32..]);
        var result = await authenticator.AuthenticateAsync("Bearer " + forged, CancellationToken.None);
        Assert.False(result.Succeeded);
        Assert.True((await authenticator.AuthenticateAsync(header, CancellationToken.None)).Succeeded);
    }

    [Fact]
    public async Task Refusals_are_not_remembered()
    {
        var (authenticator, _) = Create();
        var wrongAudience = Tokens.Mint(_rsa, _time.GetUtcNow(), audience: "api://elsewhere");
        Assert.False((await authenticator.ValidateTokenAsync(wrongAudience, CancellationToken.None)).Succeeded);
        Assert.Equal(0, authenticator.RememberedTokens);
    }

    private (JwtAuthenticator Authenticator, SwappableKeySource Keys) Create()
    {
        var keys = new SwappableKeySource(new KeySet([KeyMaterial.ParseJwks(_rsa.Jwk())[0]], _time.GetUtcNow()));
        var options = new JwtOptions
        {
            Issuers = [new JwtIssuerOptions { Issuer = Tokens.Issuer, Audiences = [Tokens.Audience], KeysFile = "test" }],
        };
        return (new JwtAuthenticator(options, [keys], _time), keys);
    }

    /// <summary>Keys a test can replace, as a JWKS refresh would.</summary>
    private sealed class SwappableKeySource(KeySet keys) : IKeySource
    {
        public KeySet Current { get; set; } = keys;

        public ValueTask<KeySet?> GetKeysAsync(CancellationToken cancellationToken) => ValueTask.FromResult<KeySet?>(Current);

        public ValueTask<KeySet?> RefreshForUnknownKeyAsync(KeySet? seen, CancellationToken cancellationToken) => ValueTask.FromResult<KeySet?>(Current);
    }
}
