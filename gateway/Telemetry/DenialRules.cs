namespace AuditGateway.Telemetry;

/// <summary>
/// The check a denial's rule id names (docs/annotations.md, "rule id in the log"), as a bounded label:
/// the id itself carries ranges, claims and Ingress names, the kind only which check it was.
/// </summary>
internal static class DenialRules
{
    public const string Other = "other";

    /// <summary>Every kind, in label order; <see cref="Other"/> last.</summary>
    public static readonly string[] Kinds =
        ["probe-block", "hostile-request", "deny-source-range", "allow-source-range", "allowed-methods", "rate-limit", "auth", "require-claims", Other];

    /// <summary>Index into <see cref="Kinds"/> of the rule id's check; reads the id in place.</summary>
    public static int KindOf(string? rule)
    {
        if (rule is null)
        {
            return Kinds.Length - 1;
        }

        var id = rule.AsSpan();
        if (id.StartsWith("config:policy.denySourceRange"))
        {
            return 2;
        }

        if (id.StartsWith("config:policy.allowSourceRange"))
        {
            return 3;
        }

        // <ns>/<ingress>:<check>[:detail]; an Ingress name has no ':'.
        if (id.IndexOf('/') >= 0 && id.IndexOf(':') is > 0 and var colon)
        {
            id = id[(colon + 1)..];
            if (id.IndexOf(':') is >= 0 and var end)
            {
                id = id[..end];
            }
        }

        for (var i = 0; i < Kinds.Length - 1; i++)
        {
            if (id.SequenceEqual(Kinds[i]))
            {
                return i;
            }
        }

        return Kinds.Length - 1;
    }
}
