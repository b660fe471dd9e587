using System.Globalization;
using AuditGateway.Policy;
using AuditGateway.Policy.Identity;

namespace AuditGateway.Routing;

/// <summary>The annotations of one Ingress that change routing or policy, parsed and checked.</summary>
internal sealed record IngressAnnotations
{
    public const string Prefix = "auditgateway.io/";
    private const string NginxPrefix = "nginx.ingress.kubernetes.io/";

    public RoutePolicy? Policy { get; init; }

    public bool? SslRedirect { get; init; }

    public bool ForceSslRedirect { get; init; }

    /// <summary>Null for the default (by the Service port).</summary>
    public BackendProtocol? BackendProtocol { get; init; }

    /// <summary>Reads the annotations; every problem is added to <paramref name="errors"/>.</summary>
    public static IngressAnnotations Parse(IReadOnlyDictionary<string, string>? annotations, List<ValidationError> errors)
    {
        if (annotations is null || annotations.Count == 0)
        {
            return new IngressAnnotations();
        }

        var reader = new Reader(annotations, errors);
        var allow = reader.Cidrs("allow-source-range")
            ?? reader.Cidrs(NginxPrefix + "whitelist-source-range")
            ?? reader.Cidrs(NginxPrefix + "allowlist-source-range");
        var deny = reader.Cidrs("deny-source-range") ?? reader.Cidrs(NginxPrefix + "denylist-source-range");
        var auth = reader.OneOf("auth", "jwt", "none") switch { "jwt" => AuthMode.Jwt, "none" => AuthMode.None, _ => (AuthMode?)null };
        var claims = reader.Claims("require-claims");
        var methods = reader.Methods("allowed-methods");
        var rate = reader.Rate("rate-limit") ?? reader.NginxRps(NginxPrefix + "limit-rps");
        var mode = reader.OneOf("policy-mode", "enforce", "report-only") switch { "enforce" => PolicyMode.Enforce, "report-only" => PolicyMode.ReportOnly, _ => (PolicyMode?)null };
        var redact = reader.Names("redact-query");
        var sslRedirect = reader.Bool("ssl-redirect") ?? reader.Bool(NginxPrefix + "ssl-redirect");
        var force = reader.Bool(NginxPrefix + "force-ssl-redirect") ?? false;
        // ingress-nginx's other values (AUTO_HTTP, FCGI) have no meaning here and are refused like any unknown value.
        var protocol = reader.OneOf("backend-protocol", "HTTP", "HTTPS", "GRPC", "GRPCS", "H2C")
            ?? reader.OneOf(NginxPrefix + "backend-protocol", "HTTP", "HTTPS", "GRPC", "GRPCS");

        foreach (var key in annotations.Keys)
        {
            if (key.StartsWith(Prefix, StringComparison.Ordinal) && !Reader.Known.Contains(key[Prefix.Length..]))
            {
                errors.Add(new ValidationError(
                    $"metadata.annotations[{key}]",
                    $"unknown annotation; known: {string.Join(", ", Reader.Known.Order(StringComparer.Ordinal))}"));
            }
        }

        var policy = new RoutePolicy
        {
            AllowSourceRange = allow,
            DenySourceRange = deny,
            AllowSet = allow is null ? null : IpRangeSet.Parse(allow),
            DenySet = deny is null ? null : IpRangeSet.Parse(deny),
            Auth = auth,
            RequireClaims = claims,
            AllowedMethods = methods,
            RateLimit = rate,
            PolicyMode = mode,
            RedactQuery = redact,
        };
        return new IngressAnnotations
        {
            Policy = policy == new RoutePolicy() ? null : policy,
            SslRedirect = sslRedirect,
            ForceSslRedirect = force,
            BackendProtocol = protocol switch
            {
                "HTTP" => Routing.BackendProtocol.Http,
                "HTTPS" => Routing.BackendProtocol.Https,
                "GRPC" => Routing.BackendProtocol.Grpc,
                "GRPCS" => Routing.BackendProtocol.Grpcs,
                "H2C" => Routing.BackendProtocol.H2c,
                _ => null,
            },
        };
    }

    private sealed class Reader(IReadOnlyDictionary<string, string> annotations, List<ValidationError> errors)
    {
        public static readonly HashSet<string> Known = new(StringComparer.Ordinal)
        {
            "allow-source-range", "deny-source-range", "auth", "require-claims", "allowed-methods",
            "rate-limit", "policy-mode", "ssl-redirect", "backend-protocol", "redact-query",
        };

        private string? Value(string name, out string key)
        {
            key = name.Contains('/', StringComparison.Ordinal) ? name : Prefix + name;
            return annotations.TryGetValue(key, out var value) ? value.Trim() : null;
        }

        private void Fail(string key, string message) =>
            errors.Add(new ValidationError($"metadata.annotations[{key}]", message));

        public List<string>? Cidrs(string name)
        {
            if (Value(name, out var key) is not { } value)
            {
                return null;
            }

            var result = new List<string>();
            foreach (var item in Split(value))
            {
                if (IpRangeSet.TryParseRange(item, out var network, out var error))
                {
                    result.Add(IpRangeSet.Canonical(network).ToString());
                }
                else
                {
                    Fail(key, error);
                }
            }

            return result;
        }

        public string? OneOf(string name, params string[] allowed)
        {
            if (Value(name, out var key) is not { } value)
            {
                return null;
            }

            foreach (var candidate in allowed)
            {
                if (string.Equals(candidate, value, StringComparison.OrdinalIgnoreCase))
                {
                    return candidate;
                }
            }

            Fail(key, $"'{value}' is not one of: {string.Join(", ", allowed)}");
            return null;
        }

        public bool? Bool(string name) => OneOf(name, "true", "false") switch
        {
            "true" => true,
            "false" => false,
            _ => null,
        };

        public List<ClaimRequirement>? Claims(string name)
        {
            if (Value(name, out var key) is not { } value)
            {
                return null;
            }

            var result = new List<ClaimRequirement>();
            foreach (var item in Split(value))
            {
                var eq = item.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0 || eq == item.Length - 1)
                {
                    Fail(key, $"'{item}' is not claim=value");
                    continue;
                }

                result.Add(new ClaimRequirement(item[..eq].Trim(), item[(eq + 1)..].Trim()));
            }

            return result;
        }

        public List<string>? Methods(string name)
        {
            if (Value(name, out var key) is not { } value)
            {
                return null;
            }

            var result = new List<string>();
            foreach (var item in Split(value))
            {
                if (item.Length == 0 || item.Any(c => !char.IsAsciiLetter(c)))
                {
                    Fail(key, $"'{item}' is not an HTTP method");
                    continue;
                }

                result.Add(item.ToUpperInvariant());
            }

            return result;
        }

        public List<string>? Names(string name)
        {
            if (Value(name, out _) is not { } value)
            {
                return null;
            }

            return [.. Split(value)];
        }

        /// <summary><c>&lt;n&gt;r/s</c> or <c>&lt;n&gt;r/m</c>, optionally <c>;by=client|identity</c>.</summary>
        public RateLimit? Rate(string name)
        {
            if (Value(name, out var key) is not { } value)
            {
                return null;
            }

            var parts = value.Split(';', StringSplitOptions.TrimEntries);
            var by = RateLimitKey.Client;
            foreach (var option in parts.Skip(1))
            {
                if (option is "by=client" or "by=identity")
                {
                    by = option == "by=client" ? RateLimitKey.Client : RateLimitKey.Identity;
                }
                else
                {
                    Fail(key, $"'{option}' is not by=client or by=identity");
                    return null;
                }
            }

            var rate = parts[0];
            var period = rate.EndsWith("r/s", StringComparison.Ordinal) ? 1 : rate.EndsWith("r/m", StringComparison.Ordinal) ? 60 : 0;
            if (period == 0 || !int.TryParse(rate.AsSpan(0, rate.Length - 3), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
            {
                Fail(key, $"'{rate}' is not <n>r/s or <n>r/m with n > 0");
                return null;
            }

            return new RateLimit(n, period, by);
        }

        public RateLimit? NginxRps(string name)
        {
            if (Value(name, out var key) is not { } value)
            {
                return null;
            }

            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
            {
                Fail(key, $"'{value}' is not a positive number of requests per second");
                return null;
            }

            return new RateLimit(n, 1, RateLimitKey.Client);
        }

        private static string[] Split(string value) =>
            value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
    }
}
