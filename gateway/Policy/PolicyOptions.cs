using System.Net;
using System.Text.Json;
using AuditGateway.Configuration;

namespace AuditGateway.Policy;

/// <summary>
/// The config file's <c>policy:</c> section and <c>identity.trustedProxies</c> (docs/configuration.md).
/// Other keys of <c>identity</c> (the JWT settings) belong to their own parser and are not read here.
/// </summary>
internal sealed record PolicyOptions
{
    public static PolicyOptions Default { get; } = new();

    /// <summary><c>none</c> or <c>jwt</c>: whether routes without an <c>auth</c> annotation require a JWT.</summary>
    public AuthMode DefaultAuth { get; init; } = AuthMode.None;

    /// <summary>When not empty, only these clients may use any route.</summary>
    public IpRangeSet AllowSourceRange { get; init; } = IpRangeSet.Empty;

    public IpRangeSet DenySourceRange { get; init; } = IpRangeSet.Empty;

    public ProbeDetectionOptions ProbeDetection { get; init; } = ProbeDetectionOptions.Default;

    /// <summary>Peers whose <c>Forwarded</c>/<c>X-Forwarded-For</c> headers are believed.</summary>
    public IpRangeSet TrustedProxies { get; init; } = IpRangeSet.Empty;

    /// <summary>
    /// Reads the sections (absent or <c>null</c> means defaults). Throws <see cref="OptionException"/>
    /// listing every error, one per line, each naming its key, e.g.
    /// <c>policy.denySourceRange[2]: '300.1.1.1' is not a CIDR</c>.
    /// </summary>
    public static PolicyOptions Parse(JsonElement? policy, JsonElement? identity)
    {
        var reader = new Reader();
        var result = Default;
        if (reader.Object(policy, "policy") is { } section)
        {
            foreach (var property in section.EnumerateObject())
            {
                var key = "policy." + property.Name;
                result = property.Name switch
                {
                    "defaultAuth" => reader.OneOf(property.Value, key, "none", "jwt") is { } auth ? result with { DefaultAuth = auth == "jwt" ? AuthMode.Jwt : AuthMode.None } : result,
                    "allowSourceRange" => result with { AllowSourceRange = reader.Ranges(property.Value, key) },
                    "denySourceRange" => result with { DenySourceRange = reader.Ranges(property.Value, key) },
                    "probeDetection" => result with { ProbeDetection = ParseProbeDetection(reader, property.Value, key) },
                    _ => reader.Unknown(key, result),
                };
            }
        }

        if (reader.Object(identity, "identity") is { } identitySection
            && identitySection.TryGetProperty("trustedProxies", out var proxies))
        {
            result = result with { TrustedProxies = reader.Ranges(proxies, "identity.trustedProxies") };
        }

        reader.ThrowIfErrors();
        return result;
    }

    private static ProbeDetectionOptions ParseProbeDetection(Reader reader, JsonElement value, string prefix)
    {
        var result = ProbeDetectionOptions.Default;
        if (reader.Object(value, prefix) is not { } section)
        {
            return result;
        }

        foreach (var property in section.EnumerateObject())
        {
            var key = prefix + "." + property.Name;
            var item = property.Value;
            result = property.Name switch
            {
                "enabled" => reader.Bool(item, key) is { } enabled ? result with { Enabled = enabled } : result,
                "paths" => reader.Paths(item, key) is { } paths ? result with { Paths = paths } : result,
                "maxDeniedPerMinute" => reader.Count(item, key) is { } denied ? result with { MaxDeniedPerMinute = denied } : result,
                "maxNotFoundPerMinute" => reader.Count(item, key) is { } notFound ? result with { MaxNotFoundPerMinute = notFound } : result,
                "blockFor" => reader.Duration(item, key) is { } blockFor ? result with { BlockFor = blockFor } : result,
                _ => reader.Unknown(key, result),
            };
        }

        return result;
    }

    /// <summary>Reads typed values and collects errors instead of stopping at the first.</summary>
    private sealed class Reader
    {
        private readonly List<string> _errors = [];

        public void ThrowIfErrors()
        {
            if (_errors.Count > 0)
            {
                throw new OptionException(string.Join(Environment.NewLine, _errors));
            }
        }

        public T Unknown<T>(string key, T unchanged)
        {
            _errors.Add($"{key}: unknown key");
            return unchanged;
        }

        public JsonElement? Object(JsonElement? value, string key)
        {
            if (value is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
            {
                return null;
            }

            if (element.ValueKind != JsonValueKind.Object)
            {
                _errors.Add($"{key}: expected a mapping, got {Describe(element)}");
                return null;
            }

            return element;
        }

        public string? OneOf(JsonElement value, string key, params string[] allowed)
        {
            if (value.ValueKind == JsonValueKind.String && allowed.Contains(value.GetString(), StringComparer.Ordinal))
            {
                return value.GetString();
            }

            _errors.Add($"{key}: {Describe(value)} is not one of: {string.Join(", ", allowed)}");
            return null;
        }

        public bool? Bool(JsonElement value, string key)
        {
            if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                return value.GetBoolean();
            }

            _errors.Add($"{key}: expected true or false, got {Describe(value)}");
            return null;
        }

        public int? Count(JsonElement value, string key)
        {
            if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) && number >= 0)
            {
                return number;
            }

            _errors.Add($"{key}: expected a whole number of 0 or more, got {Describe(value)}");
            return null;
        }

        public TimeSpan? Duration(JsonElement value, string key)
        {
            if (value.ValueKind != JsonValueKind.String)
            {
                _errors.Add($"{key}: expected a duration such as 15m, got {Describe(value)}");
                return null;
            }

            if (!DurationParser.TryParse(value.GetString(), out var duration, out var error))
            {
                _errors.Add($"{key}: {error}");
                return null;
            }

            if (duration <= TimeSpan.Zero)
            {
                _errors.Add($"{key}: must be longer than 0");
                return null;
            }

            return duration;
        }

        public IpRangeSet Ranges(JsonElement value, string key)
        {
            var networks = new List<IPNetwork>();
            foreach (var (item, itemKey) in Strings(value, key))
            {
                if (IpRangeSet.TryParseRange(item, out var network, out var error))
                {
                    networks.Add(network);
                }
                else
                {
                    _errors.Add($"{itemKey}: {error}");
                }
            }

            return new IpRangeSet(networks);
        }

        public IReadOnlyList<string>? Paths(JsonElement value, string key)
        {
            var paths = new List<string>();
            var errors = _errors.Count;
            foreach (var (item, itemKey) in Strings(value, key))
            {
                if (item.StartsWith('/'))
                {
                    paths.Add(item);
                }
                else
                {
                    _errors.Add($"{itemKey}: '{item}' is not a path (it must start with /)");
                }
            }

            return _errors.Count == errors ? paths : null;
        }

        private List<(string Value, string Key)> Strings(JsonElement value, string key)
        {
            var result = new List<(string, string)>();
            if (value.ValueKind == JsonValueKind.Null)
            {
                return result;
            }

            if (value.ValueKind != JsonValueKind.Array)
            {
                _errors.Add($"{key}: expected a list, got {Describe(value)}");
                return result;
            }

            var index = 0;
            foreach (var item in value.EnumerateArray())
            {
                var itemKey = $"{key}[{index++}]";
                if (item.ValueKind == JsonValueKind.String)
                {
                    result.Add((item.GetString()!, itemKey));
                }
                else
                {
                    _errors.Add($"{itemKey}: expected a string, got {Describe(item)}");
                }
            }

            return result;
        }

        private static string Describe(JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.String => $"'{value.GetString()}'",
            JsonValueKind.Object => "a mapping",
            JsonValueKind.Array => "a list",
            JsonValueKind.Null => "null",
            _ => value.GetRawText(),
        };
    }
}
