using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using AuditGateway.Configuration;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.ControlPlane.Sources;

/// <summary>A manifest that cannot be read; the message names the file and, for YAML, the line.</summary>
internal sealed class ManifestException(string message) : Exception(message);

/// <summary>
/// Embedded mode's config source: every <c>*.yaml</c>, <c>*.yml</c> and <c>*.json</c> below a
/// directory (multi-document YAML and <c>kind: List</c> allowed). The directory is watched;
/// a burst of file events is coalesced for <see cref="Debounce"/> and then rescanned, so an
/// edit is live well within 100 ms. A file that fails to parse keeps its last good objects.
/// </summary>
internal sealed partial class ManifestDirectorySource : IConfigSource
{
    public static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(20);

    private readonly string _directory;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, FileState> _files = new(StringComparer.Ordinal);
    private Dictionary<ObjectKey, KubeResource> _objects = [];
    private long _lastEvent;

    /// <summary>Files that emptied while they had objects, and since when (a save caught between truncate and write).</summary>
    private readonly Dictionary<string, long> _emptySince = new(StringComparer.Ordinal);
    private bool _recheck;

    public ManifestDirectorySource(string directory, TimeProvider time, ILogger<ManifestDirectorySource> logger)
    {
        _directory = Path.GetFullPath(directory);
        _time = time;
        _logger = logger;
    }

    /// <summary>Reads the directory once; any unreadable file or syntax error throws <see cref="ManifestException"/>.</summary>
    public IReadOnlyList<ResourceChange> LoadInitial()
    {
        if (!Directory.Exists(_directory))
        {
            throw new ManifestException($"--manifests {_directory}: directory not found");
        }

        return Rescan(strict: true);
    }

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
        await DeliverAsync(sink, Rescan(strict: false), cancellationToken);
        sink.MarkSynced();

        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await signal.WaitAsync(cancellationToken);
                await QuietAsync(signal, cancellationToken);
                await DeliverAsync(sink, Rescan(strict: false), cancellationToken);
                if (_recheck)
                {
                    // A file was found empty mid-save: look again once the writer has had time to finish.
                    _recheck = false;
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

    private static async Task DeliverAsync(IConfigSink sink, IReadOnlyList<ResourceChange> changes, CancellationToken cancellationToken)
    {
        if (changes.Count > 0)
        {
            await sink.ApplyAsync(changes, new ChangeContext(ChangeVia.File, Environment.UserName), cancellationToken);
        }
    }

    /// <summary>Reads every manifest file (reusing unchanged ones) and returns what changed.</summary>
    private List<ResourceChange> Rescan(bool strict)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        List<string> paths;
        try
        {
            paths = EnumerateManifests();
        }
        catch (Exception e) when (strict && e is IOException or UnauthorizedAccessException)
        {
            throw new ManifestException($"--manifests {_directory}: cannot read the directory: {e.Message}");
        }

        foreach (var path in paths)
        {
            seen.Add(path);
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(path);
            }
            catch (IOException e) when (!strict)
            {
                LogFileUnreadable(_logger, path, e.Message);
                continue;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ManifestException($"{path}: cannot read: {e.Message}");
            }

            if (!strict && bytes.Length == 0 && _files.TryGetValue(path, out var had) && had.Objects.Count > 0)
            {
                // An editor that truncates, then writes, can be read in between: only an emptiness
                // that lasts two debounce periods removes the file's objects.
                if (!_emptySince.TryGetValue(path, out var since))
                {
                    _emptySince[path] = since = _time.GetTimestamp();
                }

                if (_time.GetElapsedTime(since) < Debounce * 2)
                {
                    _recheck = true;
                    continue;
                }
            }

            _emptySince.Remove(path);
            var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (_files.TryGetValue(path, out var known) && known.Sha256 == hash)
            {
                continue;
            }

            try
            {
                _files[path] = new FileState(hash, Parse(path, bytes, new ObjectOrigin(path, hash)));
            }
            catch (ManifestException e) when (!strict)
            {
                LogFileRefused(_logger, e.Message, _files.ContainsKey(path) ? "its previous objects stay in force" : "it contributes nothing");
            }
        }

        foreach (var gone in _files.Keys.Where(p => !seen.Contains(p)).ToList())
        {
            _files.Remove(gone);
        }

        var objects = new Dictionary<ObjectKey, KubeResource>();
        foreach (var (path, file) in _files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            foreach (var resource in file.Objects)
            {
                if (!objects.TryAdd(resource.Key, resource))
                {
                    var message = $"{path}: {resource.Key} is also defined in {objects[resource.Key].Origin?.Path}; the first one is used";
                    if (strict)
                    {
                        throw new ManifestException(message);
                    }

                    LogDuplicate(_logger, message);
                }
            }
        }

        var changes = new List<ResourceChange>();
        foreach (var (key, resource) in objects)
        {
            if (!_objects.TryGetValue(key, out var old) || !JsonNode.DeepEquals(old.Json, resource.Json))
            {
                changes.Add(new ResourceChange(key, old, resource));
            }
        }

        foreach (var (key, old) in _objects)
        {
            if (!objects.ContainsKey(key))
            {
                changes.Add(new ResourceChange(key, old, null));
            }
        }

        _objects = objects;
        return changes;
    }

    private List<string> EnumerateManifests()
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false, AttributesToSkip = FileAttributes.Hidden };
        return Directory.EnumerateFiles(_directory, "*", options)
            .Where(p => p.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase)
                || p.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)
                || p.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Parses one file into the routing objects it holds.</summary>
    internal static List<KubeResource> Parse(string path, byte[] bytes, ObjectOrigin origin)
    {
        var text = System.Text.Encoding.UTF8.GetString(bytes);
        var documents = new List<(JsonNode? Node, int Line)>();
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                documents.Add((JsonNode.Parse(text), 1));
            }
            catch (JsonException e)
            {
                throw new ManifestException($"{path}:{(e.LineNumber ?? 0) + 1}: JSON syntax error: {e.Message.Split(" Path:")[0]}");
            }
        }
        else
        {
            try
            {
                documents.AddRange(YamlDocuments.Parse(text).Select(d => (d.Root, d.Line)));
            }
            catch (YamlSyntaxException e)
            {
                throw new ManifestException($"{path}:{e.Line}:{e.Column}: YAML syntax error: {e.Message}");
            }
        }

        var resources = new List<KubeResource>();
        foreach (var (node, line) in documents)
        {
            if (node is null)
            {
                continue;
            }

            if (node is not JsonObject obj)
            {
                throw new ManifestException($"{path}:{line}: a manifest document must be an object");
            }

            var items = obj["kind"]?.GetValueKind() == JsonValueKind.String && obj["kind"]!.GetValue<string>() == "List"
                ? (obj["items"] as JsonArray ?? []).OfType<JsonObject>()
                : [obj];
            foreach (var item in items)
            {
                try
                {
                    if (ResourceReader.TryRead(item, origin, out var resource))
                    {
                        resources.Add(resource);
                    }
                }
                catch (ResourceFormatException e)
                {
                    throw new ManifestException($"{path}:{line}: {e.Message}");
                }
            }
        }

        return resources;
    }

    private sealed record FileState(string Sha256, List<KubeResource> Objects);

    [LoggerMessage(Level = LogLevel.Error, Message = "Manifest {Message}; {Consequence}")]
    private static partial void LogFileRefused(ILogger logger, string message, string consequence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Manifest {Path} could not be read ({Reason}); retrying on the next change")]
    private static partial void LogFileUnreadable(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Manifest {Message}")]
    private static partial void LogDuplicate(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Rescanning {Directory} failed")]
    private static partial void LogRescanFailed(ILogger logger, string directory, Exception exception);
}
