using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AuditGateway.Policy.Identity;

/// <summary>
/// Validates the bearer JWT of a request against the configured issuers (PRODUCT.md §4, §5).
/// The token's <c>iss</c> (read before validation) picks the issuer's configuration; the token is then
/// fully validated against that issuer's keys and audiences only: signature (RS256, PS256 or ES256; never
/// <c>none</c>), issuer, audience, <c>exp</c> (required) and <c>nbf</c> with the bounded clock skew, all
/// timed by the <see cref="TimeProvider"/>. Nothing here logs or returns the token.
/// </summary>
internal sealed partial class JwtAuthenticator : IDisposable
{
    /// <summary>The accepted signature algorithms.</summary>
    public static readonly IReadOnlyList<string> Algorithms =
        [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.EcdsaSha256];

    /// <summary>Longer bearer values are refused as malformed before any parsing.</summary>
    public const int MaxTokenLength = 16 * 1024;

    private static readonly SearchValues<char> TokenChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");

    /// <summary>Verified tokens remembered at most this long (and never past their <c>exp</c>).</summary>
    public static readonly TimeSpan VerifiedTtl = TimeSpan.FromSeconds(60);

    /// <summary>When this many tokens are remembered, the memory is emptied and starts again.</summary>
    public const int VerifiedCapacity = 10_000;

    private readonly Dictionary<string, Issuer> _issuers = new(StringComparer.Ordinal);

    /// <summary>
    /// Signature checks are the costly part of a request, and a client sends the same token many
    /// times: a token verified in full is remembered, keyed by its exact text, for at most
    /// <see cref="VerifiedTtl"/> and never past its expiry. Only successes are remembered, so a
    /// refusal always gets the full check. A new key set (a JWKS refresh) ends the memory of
    /// everything verified with the old one.
    /// </summary>
    private readonly ConcurrentDictionary<string, Verified> _verified = new(TokenComparer.Instance);
    private readonly ConcurrentDictionary<string, Verified>.AlternateLookup<ReadOnlySpan<char>> _verifiedByText;
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
        _verifiedByText = _verified.GetAlternateLookup<ReadOnlySpan<char>>();
        for (var i = 0; i < options.Issuers.Count; i++)
        {
            _issuers.Add(options.Issuers[i].Issuer, new Issuer(options.Issuers[i], keySources[i]));
        }
    }

    public JwtOptions Options { get; }

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
        return _verifiedByText.TryGetValue(token, out var known) && StillValid(known) is true
            ? ValueTask.FromResult(known.Result)
            : ValidateTokenAsync(token.ToString(), cancellationToken);
    }

    /// <summary>Validates a bare compact JWS.</summary>
    public async ValueTask<JwtResult> ValidateTokenAsync(string token, CancellationToken cancellationToken)
    {
        if (_verified.TryGetValue(token, out var known))
        {
            if (StillValid(known) ?? ReferenceEquals(await known.Source.GetKeysAsync(cancellationToken), known.Keys))
            {
                return known.Result;
            }

            _verified.TryRemove(token, out _);
        }

        return await VerifyAsync(token, cancellationToken);
    }

    /// <summary>
    /// A remembered token is good while unexpired and while its issuer's key set is the one it was
    /// verified with (a rotation ends it). Null when the key set is not at hand without waiting.
    /// </summary>
    private bool? StillValid(Verified known)
    {
        if (_time.GetUtcNow() >= known.Until)
        {
            return false;
        }

        var keys = known.Source.GetKeysAsync(CancellationToken.None);
        return keys.IsCompletedSuccessfully ? ReferenceEquals(keys.Result, known.Keys) : null;
    }

    /// <summary>How many verified tokens are remembered.</summary>
    internal int RememberedTokens => _verified.Count;

    private async ValueTask<JwtResult> VerifyAsync(string token, CancellationToken cancellationToken)
    {
        if (ShapeProblem(token) is { } problem)
        {
            return JwtResult.Fail(JwtFailureReason.Malformed, problem);
        }

        JsonWebToken jwt;
        string issuerName;
        try
        {
            jwt = _handler.ReadJsonWebToken(token);
            if (HeaderProblem(jwt) is { } failure)
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
            return JwtResult.Fail(JwtFailureReason.WrongIssuer, $"the issuer '{Shorten(issuerName)}' is not trusted");
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
                : $"issuer '{issuer.Options.Issuer}' has no key with kid '{Shorten(jwt.Kid)}'");
        }

        var result = await _handler.ValidateTokenAsync(jwt, Parameters(issuer.Options, candidates, jwt.Alg));
        if (!result.IsValid)
        {
            return Classify(result.Exception);
        }

        var accepted = Accept(jwt, issuer.Options);
        if (accepted.Succeeded)
        {
            Remember(token, accepted, jwt.ValidTo, issuer.Keys, keys);
        }

        return accepted;
    }

    private void Remember(string token, JwtResult result, DateTime expires, IKeySource source, KeySet keys)
    {
        var now = _time.GetUtcNow();
        var until = new DateTimeOffset(DateTime.SpecifyKind(expires, DateTimeKind.Utc));
        if (until > now + VerifiedTtl)
        {
            until = now + VerifiedTtl;
        }

        if (_verified.Count >= VerifiedCapacity)
        {
            _verified.Clear();
        }

        _verified[token] = new Verified(result, until, source, keys);
    }

    private static TokenValidationParameters Parameters(JwtIssuerOptions issuer, IReadOnlyList<SecurityKey> keys, string algorithm) => new()
    {
        ValidIssuer = issuer.Issuer,
        ValidAudiences = issuer.Audiences,
        IgnoreTrailingSlashWhenValidatingAudience = false,
        IssuerSigningKeys = keys,
        TryAllIssuerSigningKeys = true,
        ValidAlgorithms = [algorithm],
        RequireSignedTokens = true,
        RequireAudience = true,

        // exp and nbf are checked in Accept against the TimeProvider (this library version reads the system clock).
        ValidateLifetime = false,
        RequireExpirationTime = false,
        SaveSigninToken = false,
        LogValidationExceptions = false,
    };

    /// <summary>The issuer's keys that fit the token's alg and whose kid is the token's (or that have none).</summary>
    private static List<SecurityKey> Candidates(KeySet keys, JsonWebToken jwt) =>
        keys.Keys
            .Where(k => (string.IsNullOrEmpty(k.KeyId) || k.KeyId == jwt.Kid) && KeyMaterial.Fits(k, jwt.Alg))
            .ToList();

    private static string? ShapeProblem(string token)
    {
        if (token.Length == 0)
        {
            return "empty bearer token";
        }

        if (token.Length > MaxTokenLength)
        {
            return $"the token is longer than {MaxTokenLength} characters";
        }

        if (token.AsSpan().ContainsAnyExcept(TokenChars))
        {
            return "the token has characters outside base64url";
        }

        return token.Count(c => c == '.') switch
        {
            2 => null,
            4 => "encrypted tokens (JWE) are not accepted",
            _ => "the token is not a compact JWS (header.payload.signature)",
        };
    }

    private static JwtResult? HeaderProblem(JsonWebToken jwt)
    {
        var alg = jwt.Alg;
        if (string.IsNullOrEmpty(alg) || alg.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return JwtResult.Fail(JwtFailureReason.AlgNone, "unsigned tokens (alg none) are never accepted");
        }

        if (!Algorithms.Contains(alg))
        {
            return JwtResult.Fail(JwtFailureReason.UnsupportedAlg, $"alg '{Shorten(alg)}' is not accepted (only {string.Join(", ", Algorithms)})");
        }

        if (jwt.TryGetHeaderValue<JsonElement>("crit", out _))
        {
            return JwtResult.Fail(JwtFailureReason.Malformed, "critical header parameters (crit) are not supported");
        }

        return null;
    }

    private static JwtResult Classify(Exception? e) => e switch
    {
        SecurityTokenInvalidAudienceException => JwtResult.Fail(JwtFailureReason.WrongAudience, "the token's audience is not one accepted for its issuer"),
        SecurityTokenInvalidIssuerException => JwtResult.Fail(JwtFailureReason.WrongIssuer, "the token's issuer is not trusted"),
        SecurityTokenInvalidAlgorithmException => JwtResult.Fail(JwtFailureReason.UnsupportedAlg, "the token's alg is not accepted"),
        SecurityTokenInvalidSignatureException => JwtResult.Fail(JwtFailureReason.BadSignature, "the signature does not verify with the issuer's key"),
        SecurityTokenMalformedException or ArgumentException => JwtResult.Fail(JwtFailureReason.Malformed, "the token is not a well-formed JWT"),
        _ => JwtResult.Fail(JwtFailureReason.Invalid, "the token was rejected"),
    };

    private JwtResult Accept(JsonWebToken jwt, JwtIssuerOptions issuer)
    {
        Dictionary<string, JsonElement> claims;
        try
        {
            claims = PayloadClaims(jwt.EncodedPayload);
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException)
        {
            return JwtResult.Fail(JwtFailureReason.Malformed, "the token's payload is not a JSON object with unique claim names");
        }

        if (LifetimeProblem(claims) is { } problem)
        {
            return problem;
        }

        var audience = issuer.Audiences.First(a => jwt.Audiences.Contains(a, StringComparer.Ordinal));
        var audit = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in Options.AuditClaims)
        {
            if (claims.TryGetValue(name, out var value))
            {
                audit[name] = ClaimText.Flatten(value, CallerIdentity.MaxClaimLength);
            }
        }

        var identity = new CallerIdentity(
            StringClaim(claims, "sub"),
            issuer.Issuer,
            audience,
            StringClaim(claims, "azp") ?? StringClaim(claims, "client_id"),
            audit);
        return JwtResult.Success(identity, claims);
    }

    /// <summary><c>exp</c> is required; now must be before <c>exp</c> + skew and not before <c>nbf</c> - skew (RFC 7519 §4.1.4-5).</summary>
    private JwtResult? LifetimeProblem(Dictionary<string, JsonElement> claims)
    {
        if (NumericDate(claims, "exp") is not { } expires)
        {
            return JwtResult.Fail(JwtFailureReason.Invalid, "the token has no numeric exp claim");
        }

        var notBefore = NumericDate(claims, "nbf");
        if (claims.ContainsKey("nbf") && notBefore is null)
        {
            return JwtResult.Fail(JwtFailureReason.Invalid, "the token's nbf claim is not a number");
        }

        var now = _time.GetUtcNow();
        var skew = Options.ClockSkew;
        if (now >= expires + skew)
        {
            return JwtResult.Fail(JwtFailureReason.Expired, $"the token expired at {Timestamp(expires)}");
        }

        if (notBefore is { } nbf && now < nbf - skew)
        {
            return JwtResult.Fail(JwtFailureReason.NotYetValid, $"the token is not valid before {Timestamp(nbf)}");
        }

        return null;
    }

    private static DateTimeOffset? NumericDate(Dictionary<string, JsonElement> claims, string name) =>
        claims.TryGetValue(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var seconds)
            && seconds is >= 0 and < 253402300799
            ? DateTimeOffset.UnixEpoch.AddSeconds(seconds)
            : null;

    /// <summary>The payload's top-level claims. Duplicate names are refused: two parsers could disagree on which wins.</summary>
    private static Dictionary<string, JsonElement> PayloadClaims(string encodedPayload)
    {
        using var document = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(encodedPayload));
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("payload is not an object");
        }

        var root = document.RootElement.Clone();
        var claims = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            if (!claims.TryAdd(property.Name, property.Value))
            {
                throw new JsonException("duplicate claim");
            }
        }

        return claims;
    }

    private static string? StringClaim(Dictionary<string, JsonElement> claims, string name) =>
        claims.TryGetValue(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Timestamp(DateTimeOffset utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Unvalidated token text echoed in a description is cut short.</summary>
    private static string Shorten(string text) => text.Length <= 100 ? text : text[..100] + "…";

    public void Dispose()
    {
        foreach (var issuer in _issuers.Values)
        {
            (issuer.Keys as IDisposable)?.Dispose();
        }
    }

    private sealed record Issuer(JwtIssuerOptions Options, IKeySource Keys);

    private sealed record Verified(JwtResult Result, DateTimeOffset Until, IKeySource Source, KeySet Keys);
}
