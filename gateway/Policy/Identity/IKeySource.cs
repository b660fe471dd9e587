using Microsoft.IdentityModel.Tokens;

namespace AuditGateway.Policy.Identity;

/// <summary>An issuer's verification keys, as last loaded.</summary>
internal sealed record KeySet(IReadOnlyList<SecurityKey> Keys, DateTimeOffset LoadedAt);

/// <summary>Where one issuer's keys come from: a file read at start-up, or a JWKS URI.</summary>
internal interface IKeySource
{
    /// <summary>The current keys, or null when none could ever be loaded. Never waits on the network
    /// once a key set is held.</summary>
    ValueTask<KeySet?> GetKeysAsync(CancellationToken cancellationToken);

    /// <summary>A token named a key id that <paramref name="seen"/> lacks: reload if allowed (rate-limited)
    /// and return the newest keys.</summary>
    ValueTask<KeySet?> RefreshForUnknownKeyAsync(KeySet? seen, CancellationToken cancellationToken);
}

/// <summary>Keys read from <c>keysFile</c> at start-up.</summary>
internal sealed class StaticKeySource(KeySet keys) : IKeySource
{
    public ValueTask<KeySet?> GetKeysAsync(CancellationToken cancellationToken) => ValueTask.FromResult<KeySet?>(keys);

    public ValueTask<KeySet?> RefreshForUnknownKeyAsync(KeySet? seen, CancellationToken cancellationToken) =>
        ValueTask.FromResult<KeySet?>(keys);
}
