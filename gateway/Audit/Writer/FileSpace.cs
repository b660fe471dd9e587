using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// Disk space allocated to a segment ahead of its end without changing its length
/// (<c>fallocate(FALLOC_FL_KEEP_SIZE)</c>), so readers, recovery and <c>verify</c> see only what was
/// written, and released again when the segment is closed (<c>FALLOC_FL_PUNCH_HOLE</c> past its end).
/// Linux only; elsewhere, and on a file system without fallocate, nothing is reserved and a full
/// disk shows first as a failed write. Also: making a rename or removal durable (<see cref="SyncDirectory"/>).
/// </summary>
internal static partial class FileSpace
{
    private const int KeepSize = 0x01;
    private const int PunchHole = 0x02;
    private const int EOPNOTSUPP = 95;
    private const int ENOSYS = 38;

    /// <summary>What reserving did.</summary>
    public enum Outcome
    {
        Reserved,
        Unsupported,
        Failed,
    }

    /// <summary>Allocates [<paramref name="offset"/>, +<paramref name="length"/>) of the file; <paramref name="error"/> is the OS's reason on failure.</summary>
    public static Outcome Reserve(SafeFileHandle file, long offset, long length, out string? error)
    {
        error = null;
        if (!OperatingSystem.IsLinux())
        {
            return Outcome.Unsupported;
        }

        if (Fallocate(file, KeepSize, offset, length) == 0)
        {
            return Outcome.Reserved;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno is EOPNOTSUPP or ENOSYS)
        {
            return Outcome.Unsupported;
        }

        error = Marshal.GetPInvokeErrorMessage(errno);
        return Outcome.Failed;
    }

    /// <summary>Gives back what was reserved past <paramref name="end"/> (a closed segment keeps only its bytes).</summary>
    public static void Release(SafeFileHandle file, long end, long reservedTo)
    {
        if (OperatingSystem.IsLinux() && reservedTo > end)
        {
            // Best effort: a file system that cannot punch keeps the blocks until the file is compressed and removed.
            _ = Fallocate(file, PunchHole | KeepSize, end, reservedTo - end);
        }
    }

    /// <summary>Makes a rename or removal in the directory durable (fsync of the directory; Linux).</summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // .NET will not open a directory as a file: open(2) it directly.
        const int ReadOnlyDirectory = 0x10000;
        var fd = OpenPath(directory, ReadOnlyDirectory);
        if (fd < 0)
        {
            throw new IOException($"{directory}: cannot open the directory to sync it: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"{directory}: fsync failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenPath(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    private static partial int Fallocate(SafeFileHandle fd, int mode, long offset, long length);
}
