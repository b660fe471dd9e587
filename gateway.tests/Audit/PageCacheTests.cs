using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Tests.Audit;

public sealed partial class PageCacheTests : IDisposable
{
    private const int Page = 4096;
    private readonly TempDataDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Durable_whole_pages_leave_the_page_cache_and_the_partial_last_page_stays()
    {
        var path = Path.Combine(_dir.Path, "segment");
        var content = new byte[(64 * Page) + 100];
        new Random(4).NextBytes(content);
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 0))
        {
            file.Write(content);
            file.Flush(flushToDisk: true);
            Assert.Equal(65, ResidentPages(path, content.Length).Count(resident => resident));

            var next = PageCache.DropDurable(file.SafeFileHandle, 0, content.Length);

            Assert.Equal(64 * Page, next);
            var resident = ResidentPages(path, content.Length);
            if (OperatingSystem.IsLinux())
            {
                Assert.Equal([.. Enumerable.Repeat(false, 64), true], resident);
            }

            Assert.Equal(next, PageCache.DropDurable(file.SafeFileHandle, next, content.Length));
        }

        Assert.Equal(content, File.ReadAllBytes(path));
    }

    /// <summary>Which pages of the file are in the page cache (mincore on a mapping, which faults nothing in).</summary>
    private static bool[] ResidentPages(string path, long length)
    {
        using var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
        var pages = (int)((length + Page - 1) / Page);
        var vector = new byte[pages];
        Assert.Equal(0, Mincore(view.SafeMemoryMappedViewHandle.DangerousGetHandle(), (nuint)length, vector));
        return [.. vector.Select(v => (v & 1) == 1)];
    }

    [LibraryImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static partial int Mincore(nint address, nuint length, [Out] byte[] vector);
}
