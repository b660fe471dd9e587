using AuditGateway.Kubernetes.Models;

namespace AuditGateway.ControlPlane.Sources;

/// <summary>
/// Embedded mode's config source: watches a manifest directory and delivers its changes. A burst of
/// file events is coalesced for <see cref="Debounce"/> and the directory then read again by
/// <see cref="ManifestDirectoryReader"/> (the files the events named, and any whose size or write
/// time changed; every file when the watcher lost events), so an edit is live well within 100 ms.
/// </summary>
internal sealed partial class ManifestDirectorySource : IConfigSource
{
    public static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(20);

    private readonly string _directory;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ManifestDirectoryReader _reader;
    private readonly Lock _namedLock = new();
    private HashSet<string> _named = new(StringComparer.Ordinal);
    private bool _lost;
    private long _lastEvent;

    public ManifestDirectorySource(string directory, TimeProvider time, ILogger<ManifestDirectorySource> logger)
    {
        _directory = Path.GetFullPath(directory);
        _time = time;
        _logger = logger;
        _reader = new ManifestDirectoryReader(_directory, time, logger);
    }

    /// <summary>
    /// Reads the directory once and applies what it holds, before anything listens; any unreadable file or
    /// syntax error throws <see cref="ManifestException"/>, and so does a failure to apply it (once: the start fails).
    /// </summary>
    public Task LoadInitialAsync(ConfigPipeline pipeline, CancellationToken cancellationToken) =>
        pipeline.ApplyOnceAsync(_reader.ReadInitial(), FileChange(), cancellationToken);

    public async Task RunAsync(IConfigSink sink, CancellationToken cancellationToken)
    {
        using var signal = new SemaphoreSlim(0);
        using var watcher = new FileSystemWatcher(_directory)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
        };
        void OnEvent(object? sender, EventArgs e)
        {
            lock (_namedLock)
            {
                switch (e)
                {
                    case RenamedEventArgs renamed:
                        _named.Add(renamed.OldFullPath);
                        _named.Add(renamed.FullPath);
                        break;
                    case FileSystemEventArgs file:
                        _named.Add(file.FullPath);
                        break;
                    default:
                        // The watcher's buffer overflowed: events were lost, so every file is read.
                        _lost = true;
                        break;
                }
            }

            Volatile.Write(ref _lastEvent, _time.GetTimestamp());
            signal.Release();
        }

        watcher.Changed += OnEvent;
        watcher.Created += OnEvent;
        watcher.Deleted += OnEvent;
        watcher.Renamed += OnEvent;
        watcher.Error += OnEvent;
        watcher.EnableRaisingEvents = true;

        // Changes between LoadInitial and the watcher starting are caught by one rescan now.
        await DeliverAsync(sink, _reader.Reread(), cancellationToken);
        sink.MarkSynced();

        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await signal.WaitAsync(cancellationToken);
                await QuietAsync(signal, cancellationToken);
                await DeliverAsync(sink, _reader.Reread(TakeNamed()), cancellationToken);
                if (_reader.TakeRecheck())
                {
                    // A file was found empty mid-save: look again once the writer has had time to finish.
                    await Task.Delay(Debounce, _time, cancellationToken);
                    signal.Release();
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // The watch loop must survive any one failed rescan; it is logged.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogRescanFailed(_logger, _directory, e);
            }
        }
    }

    /// <summary>
    /// Waits until no file event has arrived for one <see cref="Debounce"/> period (the burst a
    /// single save produces: truncate, write, rename), but at most four periods after the first.
    /// Trailing-edge on the last event's time: counting queued signals instead made nearly every
    /// save wait two periods, because a save's events arrive together before the first period.
    /// </summary>
    private async Task QuietAsync(SemaphoreSlim signal, CancellationToken cancellationToken)
    {
        var first = _time.GetTimestamp();
        var limit = Debounce * 4;
        while (true)
        {
            Drain(signal);
            var quiet = _time.GetElapsedTime(Volatile.Read(ref _lastEvent));
            var waited = _time.GetElapsedTime(first);
            if (quiet >= Debounce || waited >= limit)
            {
                return;
            }

            var wait = Debounce - quiet;
            await Task.Delay(wait < limit - waited ? wait : limit - waited, _time, cancellationToken);
        }
    }

    /// <summary>The files events named since the last call, or null (read every file) when events were lost.</summary>
    private HashSet<string>? TakeNamed()
    {
        lock (_namedLock)
        {
            var named = _lost ? null : _named;
            _named = new HashSet<string>(StringComparer.Ordinal);
            _lost = false;
            return named;
        }
    }

    /// <summary>Consumes pending signals; true if there were any.</summary>
    private static bool Drain(SemaphoreSlim signal)
    {
        var any = false;
        while (signal.Wait(0))
        {
            any = true;
        }

        return any;
    }

    /// <summary>
    /// Returns once the changes took effect (the sink retries a failure), so the reader's view never
    /// gets ahead of what is in force; only cancellation throws.
    /// </summary>
    private static async Task DeliverAsync(IConfigSink sink, IReadOnlyList<ResourceChange> changes, CancellationToken cancellationToken)
    {
        if (changes.Count > 0)
        {
            await sink.ApplyAsync(changes, FileChange(), cancellationToken);
        }
    }

    /// <summary>A manifest edit's actor is the OS user running the gateway.</summary>
    private static ChangeContext FileChange() => new(ChangeVia.File, Environment.UserName);
}
