using System.Buffers.Binary;
using System.Globalization;
using AuditGateway.Audit.Merkle;
using Microsoft.Win32.SafeHandles;

namespace AuditGateway.Audit.Storage;

/// <summary>
/// <c>tree/</c>: the Merkle tree's nodes kept beside the log so that proofs need O(log n) reads
/// instead of a pass over the log. Derived data, rebuilt from the log at every start and written
/// by the writer as it goes (not fsynced: the log is the truth): <c>NNNNNNNNNNNN.leaves</c> holds the
/// leaf hash of every entry of the segment of that name (32 bytes each, in seq order);
/// <c>level-08.bin</c> and <c>level-16.bin</c> hold the roots of the complete subtrees of 256 and
/// 65,536 leaves, after an 8-byte little-endian header naming the index of the first one;
/// <c>NNNNNNNNNNNN.offsets</c> the byte offset of every 1,024th line of a raw segment.
/// A proof built from it is checked against the signed checkpoint's root before it is given out.
/// </summary>
internal static class StoredTree
{
    public const string LeavesExtension = ".leaves";

    public static string DirectoryOf(string data) => Path.Combine(data, "tree");

    public static string LeavesPath(string treeDirectory, long segmentFirstSeq) =>
        Path.Combine(treeDirectory, segmentFirstSeq.ToString("D12", CultureInfo.InvariantCulture) + LeavesExtension);

    /// <summary>For a segment still raw: the byte offset of every 1,024th line (8 bytes each, little-endian), so one line is found without reading the segment up to it.</summary>
    public static string OffsetsPath(string treeDirectory, long segmentFirstSeq) =>
        Path.Combine(treeDirectory, segmentFirstSeq.ToString("D12", CultureInfo.InvariantCulture) + ".offsets");

    /// <summary>The tree directory of the data directory a segment file is in (<c>DATA/log/N.jsonl</c> → <c>DATA/tree</c>).</summary>
    public static string DirectoryOfSegment(string segmentPath) => DirectoryOf(Path.GetDirectoryName(Path.GetDirectoryName(segmentPath))!);

    public static string LevelPath(string treeDirectory, int height) =>
        Path.Combine(treeDirectory, $"level-{height:D2}.bin");
}

/// <summary>Reads nodes from <c>tree/</c>; a node that is not there (yet) is simply not found.</summary>
internal sealed class StoredTreeReader : IDisposable
{
    private readonly string _directory;
    private readonly long[] _leafFiles;
    private readonly Dictionary<string, SafeFileHandle> _open = [];
    private readonly Dictionary<int, long> _firstIndex = [];

    private StoredTreeReader(string directory, long[] leafFiles)
    {
        _directory = directory;
        _leafFiles = leafFiles;
    }

    /// <summary>The data directory's stored tree, or null when there is none.</summary>
    public static StoredTreeReader? Open(string data)
    {
        var directory = StoredTree.DirectoryOf(data);
        if (!Directory.Exists(directory))
        {
            return null;
        }

        var starts = Directory.EnumerateFiles(directory, "*" + StoredTree.LeavesExtension)
            .Select(f => Path.GetFileName(f)[..^StoredTree.LeavesExtension.Length])
            .Where(stem => stem.Length == 12 && stem.All(char.IsAsciiDigit))
            .Select(stem => long.Parse(stem, CultureInfo.InvariantCulture))
            .Order()
            .ToArray();
        return new StoredTreeReader(directory, starts);
    }

    /// <summary>The leaf (height 0) or the stored subtree root (heights 8 and 16) at <paramref name="index"/>.</summary>
    public bool TryNode(int height, long index, Span<byte> hash)
    {
        string path;
        long offset;
        if (height == 0)
        {
            var at = Array.BinarySearch(_leafFiles, index);
            at = at >= 0 ? at : ~at - 1;
            if (at < 0)
            {
                return false;
            }

            path = StoredTree.LeavesPath(_directory, _leafFiles[at]);
            offset = (index - _leafFiles[at]) * MerkleHash.Size;
        }
        else if (height is MerkleFrontier.LowLevel or MerkleFrontier.HighLevel)
        {
            path = StoredTree.LevelPath(_directory, height);
            if (!_firstIndex.TryGetValue(height, out var first))
            {
                Span<byte> header = stackalloc byte[8];
                if (Handle(path) is not { } levelFile || RandomAccess.Read(levelFile, header, 0) != 8)
                {
                    return false;
                }

                first = BinaryPrimitives.ReadInt64LittleEndian(header);
                _firstIndex[height] = first;
            }

            if (index < first)
            {
                return false;
            }

            offset = 8 + ((index - first) * MerkleHash.Size);
        }
        else
        {
            return false;
        }

        return Handle(path) is { } file && RandomAccess.Read(file, hash[..MerkleHash.Size], offset) == MerkleHash.Size;
    }

    public void Dispose()
    {
        foreach (var handle in _open.Values)
        {
            handle.Dispose();
        }
    }

    private SafeFileHandle? Handle(string path)
    {
        if (!_open.TryGetValue(path, out var handle))
        {
            try
            {
                handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (FileNotFoundException)
            {
                return null;
            }

            _open[path] = handle;
        }

        return handle;
    }
}
