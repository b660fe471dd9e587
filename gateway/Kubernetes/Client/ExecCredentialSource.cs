using System.Security.Cryptography.X509Certificates;

namespace AuditGateway.Kubernetes.Client;

/// <summary>
/// The credential of an exec plugin, cached: the plugin runs again shortly before the
/// credential's <c>expirationTimestamp</c> (by <see cref="TimeProvider"/>), or when the API server
/// refused it (<see cref="Invalidate"/>). One run at a time: callers arriving meanwhile share its result.
/// </summary>
internal sealed class ExecCredentialSource(ExecPluginConfig config, TimeProvider time)
{
    /// <summary>How long before its expiry a credential is replaced (at most half its lifetime).</summary>
    public static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private Cached? _cached;
    private Task<PluginCredential>? _running;

    public ExecPluginConfig Config => config;

    /// <summary>The last credential the plugin gave (null before the first run): what the TLS handshake presents.</summary>
    public PluginCredential? Current => _cached?.Credential;

    /// <summary>Raised after a run replaced a credential (old, new), e.g. to drop connections made with an old certificate.</summary>
    public event Action<PluginCredential, PluginCredential>? Replaced;

    /// <summary>
    /// A credential that is not due for refresh, running the plugin if needed. Cancelling stops the
    /// wait, not a run other callers may share (a run is bounded by <see cref="ExecPlugin.Timeout"/>).
    /// </summary>
    public async ValueTask<PluginCredential> GetAsync(CancellationToken cancellationToken)
    {
        Task<PluginCredential> run;
        lock (_gate)
        {
            if (_cached is { } cached && time.GetUtcNow() < cached.RefreshAt)
            {
                return cached.Credential;
            }

            // Started on the pool: the run clears _running under the lock, so never before it is set.
            run = _running ??= Task.Run(RunAsync, CancellationToken.None);
        }

        return await run.WaitAsync(cancellationToken);
    }

    /// <summary>The API server refused <paramref name="used"/>: the next <see cref="GetAsync"/> runs the plugin (unless it already has since).</summary>
    public void Invalidate(PluginCredential used)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_cached?.Credential, used))
            {
                _cached = _cached with { RefreshAt = DateTimeOffset.MinValue };
            }
        }
    }

    public static bool SameCertificate(X509Certificate2? a, X509Certificate2? b) =>
        a is null || b is null ? a is null && b is null : a.RawDataMemory.Span.SequenceEqual(b.RawDataMemory.Span);

    private async Task<PluginCredential> RunAsync()
    {
        try
        {
            var now = time.GetUtcNow();
            var next = await ExecPlugin.RunAsync(config, time, CancellationToken.None);
            var refreshAt = next.Expires is { } expires ? expires - Min(RefreshMargin, (expires - now) / 2) : DateTimeOffset.MaxValue;
            Cached? previous;
            lock (_gate)
            {
                previous = _cached;
                _cached = new Cached(next, refreshAt);
            }

            if (previous is not null)
            {
                Replaced?.Invoke(previous.Credential, next);
            }

            return next;
        }
        finally
        {
            lock (_gate)
            {
                _running = null;
            }
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private sealed record Cached(PluginCredential Credential, DateTimeOffset RefreshAt);
}
