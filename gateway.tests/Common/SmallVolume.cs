using System.Diagnostics;

namespace AuditGateway.Tests.Common;

/// <summary>
/// A real, small file system for disk-full tests: a tmpfs of a given size mounted on a temporary
/// directory (Linux, as root, as CI runs), unmounted on dispose.
/// </summary>
internal sealed class SmallVolume : IDisposable
{
    private SmallVolume(string path)
    {
        Path = path;
    }

    public string Path { get; }

    /// <summary>Why a small volume cannot be mounted here; null when it can.</summary>
    public static string? Unavailable { get; } = Probe();

    public static SmallVolume Mount(long bytes)
    {
        var path = Directory.CreateTempSubdirectory("auditgw-volume-").FullName;
        var (code, error) = Run("mount", "-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            throw new InvalidOperationException($"mount tmpfs on {path} failed ({code}): {error}");
        }

        return new SmallVolume(path);
    }

    /// <summary>Bytes still free on the volume.</summary>
    public long Free => new DriveInfo(Path).AvailableFreeSpace;

    /// <summary>Writes a file until at most <paramref name="leave"/> bytes are free (all of them with 0); returns its path.</summary>
    public string Fill(long leave)
    {
        var ballast = System.IO.Path.Combine(Path, "ballast");
        var chunk = new byte[64 << 10];
        using var file = new FileStream(ballast, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        try
        {
            while (Free > leave)
            {
                file.Write(chunk, 0, (int)Math.Min(chunk.Length, Math.Max(4096, Free - leave)));
            }
        }
        catch (IOException)
        {
            // Full: as intended when leave is 0.
        }

        return ballast;
    }

    public void Dispose()
    {
        _ = Run("umount", "-l", Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "needs Linux (a tmpfs mount)";
        }

        if (Environment.UserName != "root")
        {
            return "needs root to mount a small tmpfs (CI runs as root)";
        }

        try
        {
            using var volume = Mount(1 << 20);
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return e.Message;
        }
    }

    private static (int Code, string Error) Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, error.Trim());
    }
}

/// <summary>A test that needs <see cref="SmallVolume"/>: skipped, saying why, where one cannot be mounted.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class SmallVolumeFactAttribute : FactAttribute
{
    public SmallVolumeFactAttribute()
    {
        if (SmallVolume.Unavailable is { } reason)
        {
            Skip = reason;
        }
    }
}
