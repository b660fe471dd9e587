using System.Security.Cryptography;
using AuditGateway.Kubernetes.Models;

namespace AuditGateway.ControlPlane.Sources;

/// <summary>
/// Reads every <c>*.yaml</c>, <c>*.yml</c> and <c>*.json</c> below a directory and says what changed
/// since the last read. Unchanged files (by SHA-256) are not parsed again; a file that fails to parse
/// keeps its last good objects; a file found empty that had objects is given two debounce periods
/// (a save caught between truncate and write) before its objects go.
/// </summary>
internal sealed partial class ManifestDirectoryReader
{
    private readonly string _directory;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, FileState> _files = new(StringComparer.Ordinal);
    private Dictionary<ObjectKey, KubeResource> _objects = [];

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

        return Rescan(strict: true);
    }

    /// <summary>A later read: a file that cannot be read or parsed is logged and keeps its last good objects.</summary>
    public List<ResourceChange> Reread() => Rescan(strict: false);

    /// <summary>Whether the last reads found a file empty mid-save, so the directory should be read again shortly; clears it.</summary>
    public bool TakeRecheck()
    {
        var recheck = _recheck;
        _recheck = false;
        return recheck;
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

                if (_time.GetElapsedTime(since) < ManifestDirectorySource.Debounce * 2)
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
                _files[path] = new FileState(hash, ManifestParser.Parse(path, bytes, new ObjectOrigin(path, hash)));
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

        var changes = ManifestChanges.Between(_objects, objects);
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

    private sealed record FileState(string Sha256, List<KubeResource> Objects);
}
