using System.Net;

namespace AuditGateway.Policy.Identity;

/// <summary>How often a JWKS is refetched and how long a fetch may take.</summary>
internal sealed record JwksTiming
{
    public static readonly JwksTiming Default = new();

    /// <summary>A key set older than this is refetched in the background on its next use.</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The least time between two fetch attempts of one URI, whatever triggers them
    /// (an unknown <c>kid</c> cannot make the gateway hammer the issuer).</summary>
    public TimeSpan MinRefetchInterval { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan FetchTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public int MaxDocumentBytes { get; init; } = 1 << 20;
}

/// <summary>
/// An issuer's JWKS fetched over HTTP and cached. A key set older than <see cref="JwksTiming.RefreshInterval"/>
/// is refreshed in the background while the old one keeps serving; a token with an unknown <c>kid</c> triggers
/// an immediate refetch, at most once per <see cref="JwksTiming.MinRefetchInterval"/>, so key rotation works
/// without waiting. A failed fetch is logged and the last good key set stays in force.
/// </summary>
internal sealed partial class JwksKeySource : IKeySource, IDisposable
{
    private readonly Uri _uri;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly JwksTiming _timing;
    private readonly SemaphoreSlim _fetchGate = new(1, 1);
    private readonly CancellationTokenSource _disposed = new();
    private readonly HashSet<string> _reportedSkips = new(StringComparer.Ordinal); // once per key, not per refresh; under _fetchGate
    private volatile KeySet? _current;
    private long _lastAttemptTicks; // UTC ticks of the last fetch attempt; 0 = never
    private Task _background = Task.CompletedTask;
    private int _refreshing;

    public JwksKeySource(Uri uri, HttpClient http, TimeProvider time, ILogger<JwksKeySource> logger, JwksTiming? timing = null)
    {
        _uri = uri;
        _http = http;
        _time = time;
        _logger = logger;
        _timing = timing ?? JwksTiming.Default;
    }

    /// <summary>The background refresh in flight, if any (tests await it).</summary>
    internal Task BackgroundRefresh => Volatile.Read(ref _background);

    public async ValueTask<KeySet?> GetKeysAsync(CancellationToken cancellationToken)
    {
        var current = _current;
        if (current is null)
        {
            return await FetchAsync(null, cancellationToken);
        }

        if (_time.GetUtcNow() - current.LoadedAt >= _timing.RefreshInterval && MayAttempt())
        {
            StartBackgroundRefresh(current);
        }

        return current;
    }

    public ValueTask<KeySet?> RefreshForUnknownKeyAsync(KeySet? seen, CancellationToken cancellationToken) =>
        FetchAsync(seen, cancellationToken);

    /// <summary>Fetches once at start-up so the first request does not wait; failures are logged, not thrown.</summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken) => await FetchAsync(null, cancellationToken);

    private bool MayAttempt()
    {
        var last = Volatile.Read(ref _lastAttemptTicks);
        return last == 0 || _time.GetUtcNow().UtcTicks - last >= _timing.MinRefetchInterval.Ticks;
    }

    private void StartBackgroundRefresh(KeySet seen)
    {
        if (Interlocked.CompareExchange(ref _refreshing, 1, 0) != 0)
        {
            return;
        }

        Volatile.Write(ref _background, Task.Run(async () =>
        {
            try
            {
                await FetchAsync(seen, _disposed.Token);
            }
            catch (OperationCanceledException)
            {
                // disposed while fetching
            }
            finally
            {
                Volatile.Write(ref _refreshing, 0);
            }
        }));
    }

    /// <summary>Fetches unless another caller already replaced <paramref name="seen"/> or the rate limit forbids it;
    /// returns the newest key set either way.</summary>
    private async ValueTask<KeySet?> FetchAsync(KeySet? seen, CancellationToken cancellationToken)
    {
        await _fetchGate.WaitAsync(cancellationToken);
        try
        {
            var current = _current;
            if (!ReferenceEquals(current, seen) && current is not null)
            {
                return current;
            }

            if (!MayAttempt())
            {
                return current;
            }

            Volatile.Write(ref _lastAttemptTicks, _time.GetUtcNow().UtcTicks);
            try
            {
                var skipped = new List<string>();
                var keys = KeyMaterial.ParseJwks(await DownloadAsync(cancellationToken), skipped);
                var fresh = new KeySet(keys, _time.GetUtcNow());
                _current = fresh;
                var keyIds = string.Join(",", keys.Select(k => k.KeyId ?? "-"));
                LogRefreshed(_logger, _uri, keys.Count, keyIds);
                foreach (var key in skipped.Where(_reportedSkips.Add))
                {
                    LogKeySkipped(_logger, _uri, key);
                }
                return fresh;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var reason = e is OperationCanceledException ? $"no answer within {_timing.FetchTimeout.TotalSeconds:0}s" : e.Message;
                if (current is null)
                {
                    LogFetchFailedNoKeys(_logger, _uri, reason);
                }
                else
                {
                    LogRefreshFailed(_logger, _uri, reason, current.LoadedAt);
                }

                return current;
            }
        }
        finally
        {
            _fetchGate.Release();
        }
    }

    private async Task<string> DownloadAsync(CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_timing.FetchTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        using var request = new HttpRequestMessage(HttpMethod.Get, _uri);
        request.Headers.Accept.ParseAdd("application/jwk-set+json, application/json");
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new KeyMaterialException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        if (response.Content.Headers.ContentLength > _timing.MaxDocumentBytes)
        {
            throw new KeyMaterialException($"the document is larger than {_timing.MaxDocumentBytes} bytes");
        }

        await using var stream = await response.Content.ReadAsStreamAsync(linked.Token);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, linked.Token)) > 0)
        {
            if (buffer.Length + read > _timing.MaxDocumentBytes)
            {
                throw new KeyMaterialException($"the document is larger than {_timing.MaxDocumentBytes} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    public void Dispose()
    {
        _disposed.Cancel();
        _disposed.Dispose();
        _fetchGate.Dispose();
    }
}
