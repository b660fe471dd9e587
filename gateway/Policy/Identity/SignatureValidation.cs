using Microsoft.IdentityModel.Tokens;

namespace AuditGateway.Policy.Identity;

/// <summary>
/// What the JWT library checks for one issuer (signature with the candidate keys, issuer, audience)
/// and how its refusals are named. Lifetime is not among them: <see cref="TokenLifetime"/> checks it.
/// </summary>
internal static class SignatureValidation
{
    public static TokenValidationParameters Parameters(JwtIssuerOptions issuer, IReadOnlyList<SecurityKey> keys, string algorithm) => new()
    {
        ValidIssuer = issuer.Issuer,
        ValidAudiences = issuer.Audiences,
        IgnoreTrailingSlashWhenValidatingAudience = false,
        IssuerSigningKeys = keys,
        TryAllIssuerSigningKeys = true,
        ValidAlgorithms = [algorithm],
        RequireSignedTokens = true,
        RequireAudience = true,

        // exp and nbf are checked by TokenLifetime against the TimeProvider (this library version reads the system clock).
        ValidateLifetime = false,
        RequireExpirationTime = false,
        SaveSigninToken = false,
        LogValidationExceptions = false,
    };

    public static JwtResult Classify(Exception? e) => e switch
    {
        SecurityTokenInvalidAudienceException => JwtResult.Fail(JwtFailureReason.WrongAudience, "the token's audience is not one accepted for its issuer"),
        SecurityTokenInvalidIssuerException => JwtResult.Fail(JwtFailureReason.WrongIssuer, "the token's issuer is not trusted"),
        SecurityTokenInvalidAlgorithmException => JwtResult.Fail(JwtFailureReason.UnsupportedAlg, "the token's alg is not accepted"),
        SecurityTokenInvalidSignatureException => JwtResult.Fail(JwtFailureReason.BadSignature, "the signature does not verify with the issuer's key"),
        SecurityTokenMalformedException or ArgumentException => JwtResult.Fail(JwtFailureReason.Malformed, "the token is not a well-formed JWT"),
        _ => JwtResult.Fail(JwtFailureReason.Invalid, "the token was rejected"),
    };
}
