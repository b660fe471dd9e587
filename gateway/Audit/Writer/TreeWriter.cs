using System.Buffers.Binary;
using AuditGateway.Audit.Merkle;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// Writes <c>tree/</c> (<see cref="StoredTree"/>) as the tree grows: fed by <see cref="MerkleFrontier.OnNode"/>,
/// handed to the OS after each flush of the log, never fsynced (it is rebuilt from the log at start).
/// A failure (a full disk) is logged once and ends the stored tree for this run: its directory is
/// removed, so proofs fall back to reading the log, and the next start rebuilds it.
/// </summary>
internal sealed partial class TreeWriter : IDisposable
{
    private readonly string _directory;
    private readonly ILogger _logger;
    private FileStream? _leaves;
    private FileStream? _offsets;
    private FileStream? _low;
    private FileStream? _high;

    /// <param name="directory">The tree directory (<c>tree/</c>, or a new one being rebuilt).</param>
    /// <param name="segmentFirstSeq">The segment whose leaves come next.</param>
    /// <param name="size">The tree's size now: a level file started now begins at the subtree that size is in.</param>
    /// <param name="logger">Where a failure is said, once.</param>
    /// <param name="create">Start a new tree (recovery rebuilding it); otherwise continue the one recovery left, or write none if there is none.</param>
    public TreeWriter(string directory, long segmentFirstSeq, long size, ILogger logger, bool create)
    {
        _directory = directory;
        _logger = logger;
        if (!create && !Directory.Exists(directory))
        {
            return;
        }

        Run(() =>
        {
            Directory.CreateDirectory(directory);
            _leaves = Append(StoredTree.LeavesPath(directory, segmentFirstSeq));
            _offsets = Append(StoredTree.OffsetsPath(directory, segmentFirstSeq));
            _low = Level(MerkleFrontier.LowLevel, size);
            _high = Level(MerkleFrontier.HighLevel, size);
        });
    }

    /// <summary>For <see cref="MerkleFrontier.OnNode"/>.</summary>
    public void OnNode(int height, long index, ReadOnlySpan<byte> hash)
    {
        var file = height switch
        {
            0 => _leaves,
            MerkleFrontier.LowLevel => _low,
            _ => _high,
        };
        if (file is null)
        {
            return;
        }

        try
        {
            file.Write(hash);
        }
        catch (IOException e)
        {
            Fail(e);
        }
    }

    /// <summary>Line <c>k × 1,024</c> of the current segment starts at <paramref name="byteOffset"/>.</summary>
    public void LineAt(long byteOffset)
    {
        if (_offsets is null)
        {
            return;
        }

        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, byteOffset);
        try
        {
            _offsets.Write(bytes);
        }
        catch (IOException e)
        {
            Fail(e);
        }
    }

    /// <summary>Hands what was written to the OS (after the log's own flush).</summary>
    public void Flush() => Run(() =>
    {
        _leaves?.Flush();
        _offsets?.Flush();
        _low?.Flush();
        _high?.Flush();
    });

    /// <summary>The log moved on to the segment starting at <paramref name="firstSeq"/>.</summary>
    public void Roll(long firstSeq) => Run(() =>
    {
        if (_leaves is null)
        {
            return;
        }

        _leaves.Dispose();
        _offsets?.Dispose();
        _leaves = Append(StoredTree.LeavesPath(_directory, firstSeq));
        _offsets = Append(StoredTree.OffsetsPath(_directory, firstSeq));
    });

    public void Dispose() => Run(Close);

    private static FileStream Append(string path) => new(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1 << 16);

    private FileStream Level(int height, long size)
    {
        var path = StoredTree.LevelPath(_directory, height);
        var file = Append(path);
        if (file.Length == 0)
        {
            Span<byte> header = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(header, size >> height);
            file.Write(header);
        }

        return file;
    }

    private void Run(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(e);
        }
    }

    private void Fail(Exception e)
    {
        if (_leaves is null && _offsets is null && _low is null && _high is null)
        {
            return;
        }

        Log.Failed(_logger, _directory, e.Message);
        try
        {
            Close();
        }
        catch (IOException)
        {
            // Whatever it held is removed next.
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (Exception removal) when (removal is IOException or UnauthorizedAccessException)
        {
            // A stale tree is caught by the proof's check against the checkpoint, and rebuilt at the next start.
        }
    }

    private void Close()
    {
        var files = new[] { _leaves, _offsets, _low, _high };
        _leaves = _offsets = _low = _high = null;
        foreach (var file in files)
        {
            file?.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(40, LogLevel.Warning, "The stored Merkle tree in {Directory} could not be written ({Reason}); proofs read the log instead until the next start rebuilds it. The log itself is not affected.")]
        public static partial void Failed(ILogger logger, string directory, string reason);
    }
}
