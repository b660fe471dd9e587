using AuditGateway.Policy.Identity;

namespace AuditGateway.Tests.Policy.Identity;

public sealed class WwwAuthenticateTests
{
    [Fact]
    public void Missing_token_gets_a_bare_challenge()
    {
        Assert.Equal("Bearer", WwwAuthenticate.Build(JwtResult.Fail(JwtFailureReason.Missing, "no bearer token")));
        Assert.Equal("Bearer realm=\"shop\"", WwwAuthenticate.Build(JwtResult.Fail(JwtFailureReason.Missing, "x"), "shop"));
    }

    [Fact]
    public void Rejected_token_gets_invalid_token_with_the_description() =>
        Assert.Equal(
            "Bearer error=\"invalid_token\", error_description=\"the token expired at 2025-01-01T00:01:00Z\"",
            WwwAuthenticate.Build(JwtResult.Fail(JwtFailureReason.Expired, "the token expired at 2025-01-01T00:01:00Z")));

    [Fact]
    public void Description_is_restricted_to_the_RFC_6750_characters()
    {
        var value = WwwAuthenticate.Build(JwtResult.Fail(JwtFailureReason.WrongIssuer, "the issuer 'a\"b\\c\r\nSet-Cookie: x=1 é' is not trusted"), "r\"x");

        Assert.Equal("Bearer realm=\"r'x\", error=\"invalid_token\", error_description=\"the issuer 'a'b/c??Set-Cookie: x=1 ?' is not trusted\"", value);
    }

    [Fact]
    public void Long_descriptions_are_cut()
    {
        var value = WwwAuthenticate.Build(JwtResult.Fail(JwtFailureReason.Malformed, new string('x', 1000)));
        Assert.True(value.Length < WwwAuthenticate.MaxDescriptionLength + 60);
    }

    [Fact]
    public void Unmet_claims_get_insufficient_scope() =>
        Assert.Equal(
            "Bearer error=\"insufficient_scope\", error_description=\"the token's scope claim does not contain orders:write\"",
            WwwAuthenticate.InsufficientClaims(new ClaimRequirement("scope", "orders:write")));

    [Fact]
    public void Success_has_no_challenge()
    {
        var ok = JwtResult.Success(new CallerIdentity("a", "i", "aud", null, new Dictionary<string, string>()), new Dictionary<string, System.Text.Json.JsonElement>());
        Assert.Throws<ArgumentException>(() => WwwAuthenticate.Build(ok));
    }
}
