using System.Security.Cryptography;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.ControlPlane.Sources;

/// <summary>
/// Reads every <c>*.yaml</c>, <c>*.yml</c> and <c>*.json</c> below a directory and says what changed
/// since the last read. A file is read again only when a file event names it or its size or write
/// time changed; unchanged files (by SHA-256) are not parsed again, and only the objects of changed
/// files are compared; a file that fails to parse
/// keeps its last good objects; a file found empty that had objects is given two debounce periods
/// (a save caught between truncate and write) before its objects go.
/// </summary>
internal sealed partial class ManifestDirectoryReader
{
    private readonly string _directory;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, FileState> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<ObjectKey, KubeResource> _objects = [];

    /// <summary>Per object, the files defining it, in path order: the first one's is in force.</summary>
    private readonly Dictionary<ObjectKey, SortedSet<string>> _definedIn = [];

    /// <summary>Files that emptied while they had objects, and since when (a save caught between truncate and write).</summary>
    private readonly Dictionary<string, long> _emptySince = new(StringComparer.Ordinal);
    private bool _recheck;

    /// <param name="directory">A full path.</param>
    public ManifestDirectoryReader(string directory, TimeProvider time, ILogger logger)
    {
        _directory = directory;
        _time = time;
        _logger = logger;
    }

    /// <summary>The first read; any unreadable file or syntax error throws <see cref="ManifestException"/>.</summary>
    public List<ResourceChange> ReadInitial()
    {
        if (!Directory.Exists(_directory))
        {
            throw new ManifestException($"--manifests {_directory}: directory not found");
        }

        return Rescan(strict: true, named: null);
    }

    /// <summary>
    /// A later read: a file that cannot be read or parsed is logged and keeps its last good objects.
    /// Files in <paramref name="named"/> (those file events named) are read whatever their size and
    /// time; the others only when their size or last-write time changed. Null reads every file.
    /// </summary>
    public List<ResourceChange> Reread(IReadOnlySet<string>? named = null) => Rescan(strict: false, named);

    /// <summary>Whether the last reads found a file empty mid-save, so the directory should be read again shortly; clears it.</summary>
    public bool TakeRecheck()
    {
        var recheck = _recheck;
        _recheck = false;
        return recheck;
    }

    /// <summary>Reads the manifest files that may have changed (by SHA-256, parsing only changed ones) and returns what changed.</summary>
    private List<ResourceChange> Rescan(bool strict, IReadOnlySet<string>? named)
    {
        List<FileInfo> files;
        try
        {
            files = EnumerateManifests();
        }
        catch (Exception e) when (strict && e is IOException or UnauthorizedAccessException)
        {
            throw new ManifestException($"--manifests {_directory}: cannot read the directory: {e.Message}");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var changed = new List<(string Path, FileState? Before)>();
        foreach (var file in files)
        {
            var path = file.FullName;
            seen.Add(path);
            var stamp = new FileStamp(file.Length, file.LastWriteTimeUtc);
            if (named is not null && !named.Contains(path) && !_emptySince.ContainsKey(path)
                && _files.TryGetValue(path, out var unchanged) && unchanged.Stamp == stamp)
            {
                continue;
            }

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

                if (_time.GetElapsedTime(since) < ManifestDirectorySource.Debounce * 2)
                {
                    _recheck = true;
                    continue;
                }
            }

            _emptySince.Remove(path);
            var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
            _files.TryGetValue(path, out var known);
            if (known?.Sha256 == hash)
            {
                _files[path] = known with { Stamp = stamp };
                continue;
            }

            try
            {
                var state = new FileState(hash, stamp, ManifestParser.Parse(path, bytes, new ObjectOrigin(path, hash)));
                _files[path] = state;
                changed.Add((path, known));
            }
            catch (ManifestException e) when (!strict)
            {
                LogFileRefused(_logger, e.Message, known is not null ? "its previous objects stay in force" : "it contributes nothing");
            }
        }

        foreach (var gone in _files.Keys.Where(p => !seen.Contains(p)).ToList())
        {
            changed.Add((gone, _files[gone]));
            _files.Remove(gone);
        }

        return Merge(changed, strict);
    }

    /// <summary>
    /// Folds the changed files into the objects in force: for every object a changed file defined or
    /// defines, the first file (by path) defining it wins; returns the objects added, whose JSON
    /// differs, or gone.
    /// </summary>
    private List<ResourceChange> Merge(List<(string Path, FileState? Before)> files, bool strict)
    {
        var affected = new HashSet<ObjectKey>();
        foreach (var (path, before) in files)
        {
            foreach (var resource in before?.Objects ?? [])
            {
                if (_definedIn.TryGetValue(resource.Key, out var paths))
                {
                    paths.Remove(path);
                }

                affected.Add(resource.Key);
            }

            if (!_files.TryGetValue(path, out var now))
            {
                continue;
            }

            foreach (var resource in now.Objects)
            {
                if (!_definedIn.TryGetValue(resource.Key, out var paths))
                {
                    _definedIn[resource.Key] = paths = new SortedSet<string>(StringComparer.Ordinal);
                }

                if (!paths.Add(path) || paths.Count > 1)
                {
                    var first = paths.Min!;
                    var message = $"{(first == path ? paths.Max : path)}: {resource.Key} is also defined in {first}; the first one is used";
                    if (strict)
                    {
                        throw new ManifestException(message);
                    }

                    LogDuplicate(_logger, message);
                }

                affected.Add(resource.Key);
            }
        }

        var changes = new List<ResourceChange>();
        foreach (var key in affected)
        {
            _objects.TryGetValue(key, out var old);
            KubeResource? resource = null;
            if (_definedIn.TryGetValue(key, out var paths) && paths.Count > 0)
            {
                resource = _files[paths.Min!].Objects.First(o => o.Key == key);
            }
            else
            {
                _definedIn.Remove(key);
            }

            if (resource is null)
            {
                if (old is not null)
                {
                    _objects.Remove(key);
                    changes.Add(new ResourceChange(key, old, null));
                }

                continue;
            }

            _objects[key] = resource;
            if (old is null || !old.SameJson(resource))
            {
                changes.Add(new ResourceChange(key, old, resource));
            }
        }

        return changes;
    }

    private List<FileInfo> EnumerateManifests()
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false, AttributesToSkip = FileAttributes.Hidden };
        return new DirectoryInfo(_directory).EnumerateFiles("*", options)
            .Where(f => f.Name.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase)
                || f.Name.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)
                || f.Name.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            .OrderBy(f => f.FullName, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>What says, without reading a file, that it may have changed.</summary>
    private readonly record struct FileStamp(long Length, DateTime LastWriteUtc);

    private sealed record FileState(string Sha256, FileStamp Stamp, List<KubeResource> Objects);
}
