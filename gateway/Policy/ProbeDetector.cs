using System.Net;
using System.Text;

namespace AuditGateway.Policy;

/// <summary>
/// Blocks clients that probe for well-known weaknesses (docs/configuration.md <c>probeDetection</c>):
/// a request for a probe path blocks at once; more than the configured number of denied
/// (401/403/405) or not-found (404, or no route) responses within any sliding minute blocks.
/// </summary>
/// <remarks>
/// Call <see cref="Observe"/> once per finished request, with the decoded request path, but not for
/// requests refused because the client was already blocked. Only clients with denied or not-found
/// responses get state: for each counter the timestamps of the last <c>max + 1</c> such responses
/// (exact sliding window), and the last few paths for the evidence. At most
/// <see cref="DefaultMaxClients"/> clients are tracked; states with nothing in the last minute are
/// swept every 10 s, and past the cap the least recently seen are dropped.
/// </remarks>
internal sealed partial class ProbeDetector : IDisposable
{
    public const string ProbePathDetector = "probe-path";
    public const string DeniedRateDetector = "denied-rate";
    public const string NotFoundRateDetector = "not-found-rate";
    public const int DefaultMaxClients = 20_000;
    public const int MaxEvidencePaths = 5;
    public const int MaxEvidencePathLength = 100;

    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);

    private readonly ProbeDetectionOptions _options;
    private readonly IBlockList _blocks;
    private readonly TimeProvider _time;
    private readonly ILogger<ProbeDetector> _logger;
    private readonly BoundedStateTable<IPAddress, ClientState> _clients;
    private readonly long _windowTicks;
    private readonly ITimer _sweeper;

    public ProbeDetector(ProbeDetectionOptions options, IBlockList blocks, TimeProvider time, ILogger<ProbeDetector> logger, int maxClients = DefaultMaxClients)
    {
        _options = options;
        _blocks = blocks;
        _time = time;
        _logger = logger;
        _windowTicks = (long)(Window.TotalSeconds * time.TimestampFrequency);
        var windowTicks = _windowTicks;
        _clients = new BoundedStateTable<IPAddress, ClientState>(
            maxClients,
            (_, _) => new ClientState(options.MaxDeniedPerMinute + 1, options.MaxNotFoundPerMinute + 1),
            (state, now) => now - state.LastUsed >= windowTicks);
        _clients.Trimmed += dropped => Log.ClientsTrimmed(_logger, dropped, maxClients);
        _sweeper = time.CreateTimer(static state => ((ProbeDetector)state!).Sweep(), this, SweepInterval, SweepInterval);
    }

    public ProbeDetectionOptions Options => _options;

    /// <summary>Clients currently tracked.</summary>
    public int TrackedClients => _clients.Count;

    /// <summary>Records a finished request; returns the new block if this request caused one.</summary>
    /// <param name="client">The resolved client address.</param>
    /// <param name="path">The request path as routed (decoded).</param>
    /// <param name="status">The response status sent to the client.</param>
    /// <param name="routeless">No route matched the request (counts as not-found whatever the status).</param>
    public BlockEntry? Observe(IPAddress client, string path, int status, bool routeless)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (!_options.Enabled)
        {
            return null;
        }

        path ??= "";
        var probe = MatchProbePath(path);
        var denied = status is 401 or 403 or 405;
        var notFound = routeless || status == 404;
        if (probe is null && !denied && !notFound)
        {
            return null;
        }

        client = IpAddresses.Normalize(client);
        if (_blocks.IsBlocked(client, out _))
        {
            return null;
        }

        if (probe is not null)
        {
            _clients.Remove(client);
            return Block(client, ProbePathDetector, $"requested {Quote(path)} (probe path {probe}), status {status}");
        }

        var now = _time.GetTimestamp();
        var verdict = _clients.Update(client, now, (Path: path, Denied: denied, Now: now, Detector: this), static (state, arg) => arg.Detector.Count(state, arg.Path, arg.Denied, arg.Now));
        if (verdict is not { } found)
        {
            return null;
        }

        _clients.Remove(client);
        return Block(client, found.Detector, found.Evidence);
    }

    /// <summary>The configured probe prefix <paramref name="path"/> starts with, if any.</summary>
    public string? MatchProbePath(string path)
    {
        var paths = _options.Paths;
        for (var i = 0; i < paths.Count; i++)
        {
            if (path.StartsWith(paths[i], StringComparison.OrdinalIgnoreCase))
            {
                return paths[i];
            }
        }

        return null;
    }

    /// <summary>Drops clients with nothing in the last minute; the timer calls this every 10 s.</summary>
    internal int Sweep() => _clients.Sweep(_time.GetTimestamp());

    public void Dispose() => _sweeper.Dispose();

    private (string Detector, string Evidence)? Count(ClientState state, string path, bool denied, long now)
    {
        state.Remember(path);
        var window = denied ? state.Denied : state.NotFound;
        window.Add(now);
        if (!window.IsFull || now - window.Oldest >= _windowTicks)
        {
            return null;
        }

        // Reset under the lock, so a concurrent request of the same client cannot trip it a second time.
        var span = now - window.Oldest;
        window.Clear();
        var seconds = Math.Max(1, (int)Math.Ceiling(span / (double)_time.TimestampFrequency));
        var evidence = denied
            ? $"{window.Capacity} denied (401/403/405) responses in {seconds}s, more than {_options.MaxDeniedPerMinute}/min; recent paths: {state.RecentPaths()}"
            : $"{window.Capacity} not-found (404 or no route) responses in {seconds}s, more than {_options.MaxNotFoundPerMinute}/min; recent paths: {state.RecentPaths()}";
        return (denied ? DeniedRateDetector : NotFoundRateDetector, evidence);
    }

    private BlockEntry Block(IPAddress client, string detector, string evidence)
    {
        var entry = _blocks.Block(client, _options.BlockFor, detector, evidence);
        Log.ClientBlocked(_logger, client, detector, _options.BlockFor);
        return entry;
    }

    private static string Quote(string path) =>
        path.Length <= MaxEvidencePathLength ? path : string.Concat(path.AsSpan(0, MaxEvidencePathLength), "…");

    /// <summary>The last <c>capacity</c> event timestamps, oldest overwritten first.</summary>
    private sealed class TimeRing(int capacity)
    {
        private long[]? _times;
        private int _next;
        private int _count;

        public int Capacity => capacity;

        public bool IsFull => _count == capacity;

        /// <summary>The oldest remembered timestamp; with <see cref="IsFull"/>, the event <c>capacity</c> events ago.</summary>
        public long Oldest => _times![_count == capacity ? _next : 0];

        public void Clear()
        {
            _next = 0;
            _count = 0;
        }

        public void Add(long timestamp)
        {
            _times ??= new long[capacity];
            _times[_next] = timestamp;
            _next = (_next + 1) % capacity;
            _count = Math.Min(_count + 1, capacity);
        }
    }

    private sealed class ClientState(int deniedCapacity, int notFoundCapacity) : TrackedState
    {
        private readonly string[] _paths = new string[MaxEvidencePaths];
        private int _nextPath;

        public TimeRing Denied { get; } = new(deniedCapacity);

        public TimeRing NotFound { get; } = new(notFoundCapacity);

        public void Remember(string path)
        {
            _paths[_nextPath] = Quote(path);
            _nextPath = (_nextPath + 1) % _paths.Length;
        }

        /// <summary>The remembered paths, oldest first.</summary>
        public string RecentPaths()
        {
            var text = new StringBuilder();
            for (var i = 0; i < _paths.Length; i++)
            {
                if (_paths[(_nextPath + i) % _paths.Length] is { } path)
                {
                    text.Append(text.Length == 0 ? "" : ", ").Append(path);
                }
            }

            return text.ToString();
        }
    }
}
