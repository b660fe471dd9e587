using System.Security.Cryptography;

namespace AuditGateway.Audit.Hashing;

/// <summary>The SHA-256 the log uses, and the implementations refused on the way there (null when none was).</summary>
internal sealed record Sha256Selected(ISha256 Sha256, string? Refused);

/// <summary>
/// Chooses the SHA-256 implementation, once per process and choice. <see cref="Sha256Choice.Auto"/>:
/// the fastest single-stream implementation that passes <see cref="Sha256SelfTest"/>, under the
/// AVX-512 lanes where they are present and pass too. <see cref="Sha256Choice.DotNet"/>: .NET's. An
/// implementation that fails the self-test is refused and named; when .NET's fails as well nothing
/// can be trusted, and choosing throws.
/// </summary>
internal static class Sha256Selection
{
    private static readonly Lazy<Sha256Selected> s_auto = new(() =>
        Over(Choose(Sha256Implementations.SingleStream), Sha256x16.IsSupported ? single => new LaneSha256(single) : null));

    private static readonly Lazy<Sha256Selected> s_dotNet = new(() => Choose([Sha256Implementations.DotNet]));

    public static Sha256Selected Select(Sha256Choice choice) => (choice == Sha256Choice.DotNet ? s_dotNet : s_auto).Value;

    /// <summary>The first of <paramref name="candidates"/> (fastest first) that passes the self-test.</summary>
    public static Sha256Selected Choose(IReadOnlyList<ISha256> candidates)
    {
        var refused = new List<string>();
        foreach (var candidate in candidates)
        {
            if (Sha256SelfTest.Problem(candidate) is not { } problem)
            {
                return new Sha256Selected(candidate, refused.Count == 0 ? null : string.Join("; ", refused));
            }

            refused.Add($"{candidate.Name}: {problem}");
        }

        throw new CryptographicException($"no SHA-256 implementation passed the self-test ({string.Join("; ", refused)})");
    }

    /// <summary><paramref name="single"/>'s implementation under lanes built over it, when there are lanes and they pass the self-test.</summary>
    public static Sha256Selected Over(Sha256Selected single, Func<ISha256, ISha256>? lanes)
    {
        if (lanes is null)
        {
            return single;
        }

        var laned = lanes(single.Sha256);
        return Sha256SelfTest.Problem(laned) is { } problem
            ? single with { Refused = string.Join("; ", new[] { single.Refused, $"{laned.Name}: {problem}" }.OfType<string>()) }
            : single with { Sha256 = laned };
    }
}
