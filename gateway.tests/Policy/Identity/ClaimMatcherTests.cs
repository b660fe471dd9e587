using System.Text.Json;
using AuditGateway.Policy.Identity;

namespace AuditGateway.Tests.Policy.Identity;

public sealed class ClaimMatcherTests
{
    private static readonly IReadOnlyDictionary<string, JsonElement> Claims = Config.Json("""
        {"sub": "alice admin", "tenant": "acme", "roles": ["reader", "auditor"], "groups": [1, "2"],
         "scope": "orders:read  orders:write", "scp": ["x"], "email_verified": true, "level": 3, "obj": {"a": "b"}}
        """).EnumerateObject().ToDictionary(p => p.Name, p => p.Value);

    [Theory]
    [InlineData("tenant", "acme", true)]
    [InlineData("tenant", "acm", false)]
    [InlineData("tenant", "ACME", false)]
    [InlineData("roles", "auditor", true)]
    [InlineData("roles", "writer", false)]
    [InlineData("groups", "1", true)]
    [InlineData("groups", "2", true)]
    [InlineData("scope", "orders:read", true)]
    [InlineData("scope", "orders:write", true)]
    [InlineData("scope", "orders", false)]
    [InlineData("scope", "orders:read  orders:write", false)]
    [InlineData("scp", "x", true)]
    [InlineData("sub", "alice admin", true)]
    [InlineData("sub", "admin", false)]
    [InlineData("email_verified", "true", true)]
    [InlineData("level", "3", true)]
    [InlineData("obj", "b", false)]
    [InlineData("absent", "x", false)]
    public void Claim_must_contain_the_value(string claim, string value, bool expected) =>
        Assert.Equal(expected, ClaimMatcher.Matches(Claims, new ClaimRequirement(claim, value)));

    [Fact]
    public void First_unmet_requirement_is_reported()
    {
        Assert.Null(ClaimMatcher.FirstUnmet(Claims, null));
        Assert.Null(ClaimMatcher.FirstUnmet(Claims, [new("tenant", "acme"), new("scope", "orders:read")]));
        Assert.Equal(new ClaimRequirement("roles", "writer"), ClaimMatcher.FirstUnmet(Claims, [new("tenant", "acme"), new("roles", "writer")]));
    }
}
