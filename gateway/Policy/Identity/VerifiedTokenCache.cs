using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace AuditGateway.Policy.Identity;

/// <summary>
/// The memory of verified tokens. Signature checks are the costly part of a request, and a client sends
/// the same token many times: a token verified in full is remembered, keyed by its exact text, for at
/// most <see cref="Ttl"/> and never past its expiry. Only successes are remembered, so a refusal always
/// gets the full check. A new key set (a JWKS refresh) ends the memory of everything verified with the old one.
/// </summary>
internal sealed class VerifiedTokenCache
{
    /// <summary>Verified tokens remembered at most this long (and never past their <c>exp</c>).</summary>
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(60);

    /// <summary>When this many tokens are remembered, the memory is emptied and starts again.</summary>
    public const int Capacity = 10_000;

    private readonly ConcurrentDictionary<string, Verified> _verified = new(TokenComparer.Instance);
    private readonly ConcurrentDictionary<string, Verified>.AlternateLookup<ReadOnlySpan<char>> _verifiedByText;
    private readonly TimeProvider _time;

    public VerifiedTokenCache(TimeProvider time)
    {
        _time = time;
        _verifiedByText = _verified.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>How many verified tokens are remembered.</summary>
    public int Count => _verified.Count;

    /// <summary>
    /// The remembered result of <paramref name="token"/> (a slice of the header, not copied), when it is
    /// known to be still good without waiting; false sends the caller to <see cref="RecallAsync"/>.
    /// </summary>
    public bool TryRecall(ReadOnlySpan<char> token, [NotNullWhen(true)] out JwtResult? result)
    {
        if (_verifiedByText.TryGetValue(token, out var known) && StillValid(known) is true)
        {
            result = known.Result;
            return true;
        }

        result = null;
        return false;
    }

    /// <summary>The remembered result of <paramref name="token"/> if it is still good; null (and forgotten) if not.</summary>
    public async ValueTask<JwtResult?> RecallAsync(string token, CancellationToken cancellationToken)
    {
        if (!_verified.TryGetValue(token, out var known))
        {
            return null;
        }

        if (StillValid(known) ?? ReferenceEquals(await known.Source.GetKeysAsync(cancellationToken), known.Keys))
        {
            return known.Result;
        }

        _verified.TryRemove(token, out _);
        return null;
    }

    /// <summary>Remembers a success, verified with <paramref name="keys"/> from <paramref name="source"/>, until the sooner of its expiry and <see cref="Ttl"/>.</summary>
    public void Remember(string token, JwtResult result, DateTime expires, IKeySource source, KeySet keys)
    {
        var now = _time.GetUtcNow();
        var until = new DateTimeOffset(DateTime.SpecifyKind(expires, DateTimeKind.Utc));
        if (until > now + Ttl)
        {
            until = now + Ttl;
        }

        if (_verified.Count >= Capacity)
        {
            _verified.Clear();
        }

        _verified[token] = new Verified(result, until, source, keys);
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

    private sealed record Verified(JwtResult Result, DateTimeOffset Until, IKeySource Source, KeySet Keys);
}
