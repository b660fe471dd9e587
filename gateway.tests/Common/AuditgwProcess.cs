using System.Diagnostics;

namespace AuditGateway.Tests.Common;

/// <summary>Runs the built <c>auditgw</c> as a real child process.</summary>
internal static class AuditgwProcess
{
    public static string Dll { get; } = Path.Combine(AppContext.BaseDirectory, "auditgw.dll");

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_NOLOGO"] = "1";
        return info;
    }

    /// <summary>
    /// Reads the process's output up to its <c>auditgw: listening</c> line and returns it, then keeps
    /// the output drained; fails the test with the error output if the process ends first.
    /// </summary>
    public static async Task<string> WaitListeningAsync(Process process)
    {
        var stderr = process.StandardError.ReadToEndAsync();
        string? line;
        while ((line = await process.StandardOutput.ReadLineAsync()) is not null && !line.StartsWith("auditgw: listening", StringComparison.Ordinal))
        {
        }

        if (line is null)
        {
            Assert.Fail("auditgw did not start: " + await stderr);
        }

        _ = process.StandardOutput.ReadToEndAsync();
        return line;
    }

    /// <summary>The address of one listener (<c>http</c>, <c>https</c>, <c>admin</c>) in the listening line.</summary>
    public static string Listener(string listening, string name) =>
        listening.Split(' ').Single(p => p.StartsWith(name + "=", StringComparison.Ordinal))[(name.Length + 1)..];

    /// <summary>Runs to completion; a process still running after <paramref name="timeout"/> is killed and fails the test.</summary>
    public static Task<Result> RunAsync(TimeSpan timeout, params string[] args) => RunInAsync(null, timeout, args);

    /// <summary>As <see cref="RunAsync"/>, in <paramref name="workingDirectory"/> (null: the test's own), so relative paths in <paramref name="args"/> mean what they would there.</summary>
    public static async Task<Result> RunInAsync(string? workingDirectory, TimeSpan timeout, params string[] args)
    {
        var info = StartInfo(args);
        info.WorkingDirectory = workingDirectory ?? "";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"auditgw {string.Join(' ', args)} did not exit within {timeout}");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
