using System.Globalization;
using System.Runtime.CompilerServices;
using AuditGateway.Policy.Identity;

namespace AuditGateway.Policy;

/// <summary>
/// Decides whether a request may pass (docs/annotations.md), cheapest checks first: the global
/// address lists, the route's address lists, its methods, a rate limit per client, then the
/// JWT, its claims, and a rate limit per identity. A route in <c>report-only</c> mode turns
/// its own denials into <c>would-deny</c> and lets the request through; the global lists
/// always enforce. The block list is checked by the caller before routing.
/// </summary>
internal sealed class PolicyEngine(PolicyOptions options, IRateLimitStore rateLimits, JwtAuthenticator? jwt)
{
    /// <summary>One "allowed, as this caller" decision per remembered identity, not one per request.</summary>
    private static readonly ConditionalWeakTable<CallerIdentity, PolicyDecision> s_allowedAs = new();

    public PolicyOptions Options => options;

    public async ValueTask<PolicyDecision> EvaluateAsync(HttpRequest request, ClientAddress client, IPolicyTarget? route, CancellationToken cancellationToken)
    {
        if (GlobalAddressRules(client) is { } global)
        {
            return global;
        }

        if (route is null)
        {
            return PolicyDecision.Allowed;
        }

        var policy = route.Policy;
        var reportOnly = policy?.PolicyMode == PolicyMode.ReportOnly;
        var decision = RouteCheapRules(request, client, route, policy)
            ?? await IdentityRulesAsync(request, client, route, policy, cancellationToken);
        return reportOnly && decision.Denies ? decision with { Outcome = DecisionOutcome.WouldDeny } : decision;
    }

    private PolicyDecision? GlobalAddressRules(ClientAddress client)
    {
        if (options.DenySourceRange.TryMatch(client.Ip, out var denied))
        {
            return PolicyDecision.Deny(StatusCodes.Status403Forbidden, $"config:policy.denySourceRange:{denied}", $"client {client.Ip} is in a denied range");
        }

        if (!options.AllowSourceRange.IsEmpty && !options.AllowSourceRange.Contains(client.Ip))
        {
            return PolicyDecision.Deny(StatusCodes.Status403Forbidden, "config:policy.allowSourceRange", $"client {client.Ip} is not in an allowed range");
        }

        return null;
    }

    private PolicyDecision? RouteCheapRules(HttpRequest request, ClientAddress client, IPolicyTarget route, RoutePolicy? policy)
    {
        if (policy is null)
        {
            return null;
        }

        if (policy.DenySet is { } deny && deny.TryMatch(client.Ip, out var denied))
        {
            return PolicyDecision.Deny(StatusCodes.Status403Forbidden, $"{Owner(route)}:deny-source-range:{denied}", $"client {client.Ip} is in a denied range");
        }

        if (policy.AllowSet is { } allow && !allow.Contains(client.Ip))
        {
            return PolicyDecision.Deny(StatusCodes.Status403Forbidden, $"{Owner(route)}:allow-source-range", $"client {client.Ip} is not in an allowed range");
        }

        if (policy.AllowedMethods is { } methods && !methods.Contains(request.Method, StringComparer.OrdinalIgnoreCase))
        {
            return PolicyDecision.Deny(StatusCodes.Status405MethodNotAllowed, $"{Owner(route)}:allowed-methods", $"method {request.Method} is not allowed")
                with { Header = new("Allow", string.Join(", ", methods)) };
        }

        return policy.RateLimit is { By: RateLimitKey.Client } limit ? RateLimited(route, limit, client.IpText) : null;
    }

    private async ValueTask<PolicyDecision> IdentityRulesAsync(
        HttpRequest request, ClientAddress client, IPolicyTarget route, RoutePolicy? policy, CancellationToken cancellationToken)
    {
        var auth = policy?.Auth ?? options.DefaultAuth;
        CallerIdentity? identity = null;
        if (auth == AuthMode.Jwt)
        {
            if (jwt is null)
            {
                return PolicyDecision.Deny(StatusCodes.Status401Unauthorized, $"{Owner(route)}:auth:jwt", "no JWT issuer is configured (identity.jwt.issuers)")
                    with { Header = new("WWW-Authenticate", "Bearer") };
            }

            var result = await jwt.AuthenticateAsync(request.Headers.Authorization.Count == 1 ? request.Headers.Authorization[0] : null, cancellationToken);
            if (!result.Succeeded)
            {
                return PolicyDecision.Deny(StatusCodes.Status401Unauthorized, $"{Owner(route)}:auth:jwt", $"{result.Code}: {result.Description}")
                    with { Header = new("WWW-Authenticate", WwwAuthenticate.Build(result)) };
            }

            identity = result.Identity;
            if (ClaimMatcher.FirstUnmet(result.Claims!, policy?.RequireClaims) is { } unmet)
            {
                return PolicyDecision.Deny(StatusCodes.Status403Forbidden, $"{Owner(route)}:require-claims:{unmet.Claim}={unmet.Value}", $"claim {unmet.Claim} does not contain {unmet.Value}")
                    with { Header = new("WWW-Authenticate", WwwAuthenticate.InsufficientClaims(unmet)), Identity = identity };
            }
        }

        if (policy?.RateLimit is { By: RateLimitKey.Identity } limit)
        {
            var key = identity is null ? client.IpText : $"{identity.Issuer}|{identity.Subject ?? identity.ClientId}";
            if (RateLimited(route, limit, key) is { } limited)
            {
                return limited with { Identity = identity };
            }
        }

        return identity is null ? PolicyDecision.Allowed : s_allowedAs.GetValue(identity, static i => PolicyDecision.Allowed with { Identity = i });
    }

    /// <summary>Where a route's rules come from, as rule ids name it: <c>namespace/ingress</c>.</summary>
    private static string Owner(IPolicyTarget route) => $"{route.Namespace}/{route.Ingress}";

    private PolicyDecision? RateLimited(IPolicyTarget route, RateLimit limit, string key)
    {
        if (rateLimits.TryAcquire(route.Id, key, limit, out var retryAfter))
        {
            return null;
        }

        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        var unit = limit.PeriodSeconds == 1 ? "s" : "m";
        return PolicyDecision.Deny(StatusCodes.Status429TooManyRequests, $"{Owner(route)}:rate-limit", $"more than {limit.Requests}r/{unit} by {(limit.By == RateLimitKey.Client ? "client" : "identity")}")
            with { Header = new("Retry-After", seconds.ToString(CultureInfo.InvariantCulture)) };
    }
}
