using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AuditGateway.Policy.Identity;

/// <summary>
/// Validates the bearer JWT of a request against the configured issuers (docs/annotations.md, §5): the entry
/// point, which looks up the issuer and picks its keys. The token's <c>iss</c> (read before validation)
/// picks the issuer's configuration; the token is then fully validated against that issuer's keys and
/// audiences only: its form (<see cref="TokenForm"/>), signature (RS256, PS256 or ES256; never <c>none</c>),
/// issuer and audience (<see cref="SignatureValidation"/>), <c>exp</c> (required) and <c>nbf</c> with the
/// bounded clock skew (<see cref="TokenLifetime"/>), all timed by the <see cref="TimeProvider"/>. Successes
/// are remembered by <see cref="VerifiedTokenCache"/>. Nothing here logs or returns the token.
/// </summary>
internal sealed partial class JwtAuthenticator : IDisposable
{
    /// <summary>The accepted signature algorithms.</summary>
    public static readonly IReadOnlyList<string> Algorithms =
        [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.EcdsaSha256];

    /// <summary>Longer bearer values are refused as malformed before any parsing.</summary>
    public const int MaxTokenLength = 16 * 1024;

    private readonly Dictionary<string, Issuer> _issuers = new(StringComparer.Ordinal);
    private readonly VerifiedTokenCache _verified;
    private readonly TimeProvider _time;
    private readonly JsonWebTokenHandler _handler = new();

    /// <param name="keySources">Where each issuer's keys come from, in <see cref="JwtOptions.Issuers"/> order.</param>
    public JwtAuthenticator(JwtOptions options, IReadOnlyList<IKeySource> keySources, TimeProvider time)
    {
        if (keySources.Count != options.Issuers.Count)
        {
            throw new ArgumentException("one key source per issuer", nameof(keySources));
        }

        Options = options;
        _time = time;
        _verified = new VerifiedTokenCache(time);
        for (var i = 0; i < options.Issuers.Count; i++)
        {
            _issuers.Add(options.Issuers[i].Issuer, new Issuer(options.Issuers[i], keySources[i]));
        }
    }

    public JwtOptions Options { get; }

    /// <summary>How many verified tokens are remembered.</summary>
    internal int RememberedTokens => _verified.Count;

    /// <summary>Builds the key sources: the parsed key file, or a cached JWKS fetched with <paramref name="http"/>.</summary>
    public static JwtAuthenticator Create(JwtOptions options, HttpClient http, TimeProvider time, ILoggerFactory loggers, JwksTiming? timing = null)
    {
        var logger = loggers.CreateLogger<JwtAuthenticator>();
        foreach (var issuer in options.Issuers)
        {
            foreach (var key in issuer.SkippedFileKeys)
            {
                LogFileKeySkipped(logger, issuer.KeysFile!, key);
            }
        }

        var sources = options.Issuers
            .Select(IKeySource (issuer) => issuer.JwksUri is { } uri
                ? new JwksKeySource(uri, http, time, loggers.CreateLogger<JwksKeySource>(), timing)
                : new StaticKeySource(new KeySet(issuer.FileKeys, time.GetUtcNow())))
            .ToList();
        return new JwtAuthenticator(options, sources, time);
    }

    /// <summary>Fetches every JWKS once, so the first requests do not wait; failures are logged, never thrown.</summary>
    public Task WarmUpAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_issuers.Values.Select(i => i.Keys.GetKeysAsync(cancellationToken).AsTask()));

    /// <summary>Validates <c>Authorization: Bearer &lt;jwt&gt;</c>. Pass null when the header is absent.</summary>
    public ValueTask<JwtResult> AuthenticateAsync(string? authorizationHeader, CancellationToken cancellationToken)
    {
        if (!BearerToken.TryRead(authorizationHeader, out ReadOnlySpan<char> token))
        {
            return ValueTask.FromResult(JwtResult.Fail(JwtFailureReason.Missing, string.IsNullOrWhiteSpace(authorizationHeader)
                ? "no bearer token"
                : "the Authorization header is not a Bearer credential"));
        }

        // The common case, a token seen before, is answered without copying the token out of the header.
        return _verified.TryRecall(token, out var known)
            ? ValueTask.FromResult(known)
            : ValidateTokenAsync(token.ToString(), cancellationToken);
    }

    /// <summary>Validates a bare compact JWS.</summary>
    public async ValueTask<JwtResult> ValidateTokenAsync(string token, CancellationToken cancellationToken) =>
        await _verified.RecallAsync(token, cancellationToken) ?? await VerifyAsync(token, cancellationToken);

    private async ValueTask<JwtResult> VerifyAsync(string token, CancellationToken cancellationToken)
    {
        if (TokenForm.ShapeProblem(token) is { } problem)
        {
            return JwtResult.Fail(JwtFailureReason.Malformed, problem);
        }

        JsonWebToken jwt;
        string issuerName;
        try
        {
            jwt = _handler.ReadJsonWebToken(token);
            if (TokenForm.HeaderProblem(jwt) is { } failure)
            {
                return failure;
            }

            issuerName = jwt.Issuer;
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenException or JsonException or FormatException)
        {
            return JwtResult.Fail(JwtFailureReason.Malformed, "the token is not a well-formed JWT");
        }

        if (string.IsNullOrEmpty(issuerName))
        {
            return JwtResult.Fail(JwtFailureReason.WrongIssuer, "the token has no iss claim");
        }

        if (!_issuers.TryGetValue(issuerName, out var issuer))
        {
            return JwtResult.Fail(JwtFailureReason.WrongIssuer, $"the issuer '{TokenForm.Shorten(issuerName)}' is not trusted");
        }

        var keys = await issuer.Keys.GetKeysAsync(cancellationToken);
        var candidates = keys is null ? [] : Candidates(keys, jwt);
        if (candidates.Count == 0 && keys is not null)
        {
            keys = await issuer.Keys.RefreshForUnknownKeyAsync(keys, cancellationToken);
            candidates = keys is null ? [] : Candidates(keys, jwt);
        }

        if (keys is null)
        {
            return JwtResult.Fail(JwtFailureReason.KeysUnavailable, $"the keys of issuer '{issuer.Options.Issuer}' are not available yet");
        }

        if (candidates.Count == 0)
        {
            return JwtResult.Fail(JwtFailureReason.UnknownKey, string.IsNullOrEmpty(jwt.Kid)
                ? $"issuer '{issuer.Options.Issuer}' has no {jwt.Alg} key"
                : $"issuer '{issuer.Options.Issuer}' has no key with kid '{TokenForm.Shorten(jwt.Kid)}'");
        }

        var result = await _handler.ValidateTokenAsync(jwt, SignatureValidation.Parameters(issuer.Options, candidates, jwt.Alg));
        if (!result.IsValid)
        {
            return SignatureValidation.Classify(result.Exception);
        }

        var accepted = Accept(jwt, issuer.Options);
        if (accepted.Succeeded)
        {
            _verified.Remember(token, accepted, jwt.ValidTo, issuer.Keys, keys);
        }

        return accepted;
    }

    /// <summary>The issuer's keys that fit the token's alg and whose kid is the token's (or that have none).</summary>
    private static List<SecurityKey> Candidates(KeySet keys, JsonWebToken jwt) =>
        keys.Keys
            .Where(k => (string.IsNullOrEmpty(k.KeyId) || k.KeyId == jwt.Kid) && KeyMaterial.Fits(k, jwt.Alg))
            .ToList();

    /// <summary>A token whose signature verified: its claims, its lifetime, and the identity it gives.</summary>
    private JwtResult Accept(JsonWebToken jwt, JwtIssuerOptions issuer)
    {
        Dictionary<string, JsonElement> claims;
        try
        {
            claims = TokenClaims.Read(jwt.EncodedPayload);
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException)
        {
            return JwtResult.Fail(JwtFailureReason.Malformed, "the token's payload is not a JSON object with unique claim names");
        }

        if (TokenLifetime.Problem(claims, _time.GetUtcNow(), Options.ClockSkew) is { } problem)
        {
            return problem;
        }

        return JwtResult.Success(TokenClaims.Identity(jwt, claims, issuer, Options.AuditClaims), claims);
    }

    public void Dispose()
    {
        foreach (var issuer in _issuers.Values)
        {
            (issuer.Keys as IDisposable)?.Dispose();
        }
    }

    private sealed record Issuer(JwtIssuerOptions Options, IKeySource Keys);
}
