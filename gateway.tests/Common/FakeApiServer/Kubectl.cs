using System.Diagnostics;

namespace AuditGateway.Tests.Common.FakeApiServer;

internal sealed record KubectlResult(int ExitCode, string Stdout, string Stderr)
{
    public KubectlResult EnsureSuccess() =>
        ExitCode == 0 ? this : throw new InvalidOperationException($"kubectl exited {ExitCode}: {Stderr}{Stdout}");
}

/// <summary>Runs the real kubectl against a <see cref="FakeApiServer"/>.</summary>
internal static class Kubectl
{
    public const string Path = "/usr/bin/kubectl";

    public static Task<KubectlResult> RunAsync(FakeApiServer server, string? stdin, params string[] args) =>
        RunAsync(server.KubeconfigPath, server.Directory, stdin, args);

    /// <summary>Runs kubectl with <paramref name="kubeconfig"/>; <paramref name="home"/> holds its HOME and cache.</summary>
    public static async Task<KubectlResult> RunAsync(string kubeconfig, string home, string? stdin, params string[] args)
    {
        var start = new ProcessStartInfo(Path)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--kubeconfig");
        start.ArgumentList.Add(kubeconfig);
        start.ArgumentList.Add("--cache-dir");
        start.ArgumentList.Add(System.IO.Path.Combine(home, "kubectl-cache"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["HOME"] = home;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("kubectl did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return new KubectlResult(process.ExitCode, await stdout, await stderr);
    }
}
