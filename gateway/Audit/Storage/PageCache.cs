using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace AuditGateway.Audit.Storage;

/// <summary>
/// Lets the kernel drop a segment's pages from the page cache once they are durable. The log is
/// written once and read rarely (verify, proofs, tail from disk), so keeping gigabytes of it cached
/// only pushes other data out of memory, and in a container the page cache counts against the
/// pod's memory limit. It also keeps the writer on recycled pages: appending into fresh memory
/// cost the writer more and more as a busy log grew (about 1 µs per entry more after 4 GB, on a
/// VM whose host backs guest memory on first touch). Linux only; elsewhere nothing is done.
/// </summary>
internal static partial class PageCache
{
    private const int PosixFadviseDontNeed = 4;
    private const long PageSize = 4096;

    /// <summary>
    /// Drops the cached pages of [<paramref name="from"/>, <paramref name="to"/>) that lie wholly in
    /// the range, and returns where the next call should start (the first page not dropped). A
    /// partial last page stays cached: dropping it would make the next append read it back.
    /// </summary>
    public static long DropDurable(SafeFileHandle file, long from, long to)
    {
        var end = to / PageSize * PageSize;
        if (!OperatingSystem.IsLinux() || end <= from)
        {
            return from;
        }

        // Advice only: a failure (an old kernel, a file system that ignores it) changes nothing.
        _ = Fadvise(file, from, end - from, PosixFadviseDontNeed);
        return end;
    }

    /// <summary>Drops every cached page of a segment that will not be written again.</summary>
    public static void DropClosed(SafeFileHandle file, long from, long length)
    {
        if (OperatingSystem.IsLinux() && length > from)
        {
            _ = Fadvise(file, from, length - from, PosixFadviseDontNeed);
        }
    }

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int Fadvise(SafeFileHandle fd, long offset, long length, int advice);
}
