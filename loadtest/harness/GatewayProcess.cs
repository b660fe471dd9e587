using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace AuditGateway.LoadTest;

/// <summary>
/// <c>auditgw</c> (a Release build, run with <c>dotnet auditgw.dll</c>) as a child process: its
/// output is drained and watched for the listening line and for route-table changes; disposal
/// kills it. <see cref="StartedAt"/> is the <see cref="Stopwatch"/> timestamp taken just before
/// the process was created.
/// </summary>
internal sealed class GatewayProcess : IAsyncDisposable
{
    private const int TailLines = 40;

    private readonly Process _process;
    private readonly TaskCompletionSource<long> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<string> _tail = new();
    private int _routeTableChanges;
    private int _manifestErrors;

    private GatewayProcess(Process process, long startedAt)
    {
        _process = process;
        StartedAt = startedAt;
    }

    public long StartedAt { get; }

    /// <summary>Completes with the timestamp at which the <c>auditgw: listening</c> line arrived.</summary>
    public Task<long> Listening => _listening.Task;

    public bool HasExited => _process.HasExited;

    /// <summary>The process id (for its RSS and for signals).</summary>
    public int Id => _process.Id;

    /// <summary>Sends SIGTERM (a clean stop: the gateway drains, writes its stop entry and a checkpoint) and waits for the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var bound = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(bound.Token);
        return _process.ExitCode;
    }

    /// <summary>How many <c>Route table A -> B</c> lines the gateway has logged (one per applied revision).</summary>
    public int RouteTableChanges => Volatile.Read(ref _routeTableChanges);

    /// <summary>How many manifest files the gateway refused or could not read (e.g. a torn read of a half-written file).</summary>
    public int ManifestErrors => Volatile.Read(ref _manifestErrors);

    public static GatewayProcess Start(string dll, IEnumerable<string> arguments, string workingDirectory)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info };
        var startedAt = Stopwatch.GetTimestamp();
        var gateway = new GatewayProcess(process, startedAt);
        process.OutputDataReceived += (_, e) => gateway.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => gateway.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return gateway;
    }

    /// <summary>Waits for the listening line; throws with the gateway's last output if it exits or times out first.</summary>
    public async Task<long> WaitListeningAsync(TimeSpan timeout)
    {
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(Listening, exited, Task.Delay(timeout));
        if (first == Listening)
        {
            return await Listening;
        }

        throw new InvalidOperationException(first == exited
            ? $"auditgw exited with code {_process.ExitCode} before listening:\n{Tail()}"
            : $"auditgw did not print its listening line within {timeout.TotalSeconds:F0} s:\n{Tail()}");
    }

    /// <summary>The process's resident set now and its peak so far (<c>VmRSS</c>, <c>VmHWM</c> of <c>/proc/PID/status</c>), in KiB.</summary>
    public (long RssKb, long PeakKb) Memory()
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kb(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kb(line);
            }
        }

        return (rss, peak);

        static long Kb(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    public string Tail()
    {
        lock (_tail)
        {
            return string.Join('\n', _tail);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(bound.Token);
        }
        catch (InvalidOperationException)
        {
            // Never started, or already reaped.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (line.StartsWith("auditgw: listening ", StringComparison.Ordinal))
        {
            _listening.TrySetResult(Stopwatch.GetTimestamp());
        }
        else if (line.Contains("Route table ", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _routeTableChanges);
        }
        else if (line.Contains(" Manifest ", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _manifestErrors);
        }

        lock (_tail)
        {
            _tail.Enqueue(line);
            if (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }
        }
    }
}

/// <summary>Where the Release build of the gateway is, and loopback ports nobody listens on.</summary>
internal static class Gateway
{
    /// <summary>The given path, or <c>gateway/bin/Release/net10.0/auditgw.dll</c> in the repository holding this harness.</summary>
    public static string Locate(string? path)
    {
        if (path is not null)
        {
            return File.Exists(path) ? Path.GetFullPath(path)
                : throw new FileNotFoundException($"--gateway {path}: no such file");
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AuditGateway.sln")))
            {
                var dll = Path.Combine(dir.FullName, "gateway", "bin", "Release", "net10.0", "auditgw.dll");
                return File.Exists(dll) ? dll
                    : throw new FileNotFoundException($"{dll} not found: run 'dotnet build -c Release gateway' first, or pass --gateway");
            }
        }

        throw new FileNotFoundException("cannot find the repository (AuditGateway.sln) above the harness; pass --gateway PATH/auditgw.dll");
    }

    /// <summary>
    /// Distinct free loopback ports, found by binding port 0 and releasing. Another process may
    /// take one before the gateway binds it; the gateway then exits with "cannot listen" and the
    /// caller sees that in the error.
    /// </summary>
    public static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }

    /// <summary><c>--http</c>, <c>--https</c> and <c>--admin</c> on free loopback ports.</summary>
    public static (string[] Arguments, int Http, int Admin) ListenerArguments()
    {
        var ports = FreePorts(3);
        return (["--http", $"127.0.0.1:{ports[0]}", "--https", $"127.0.0.1:{ports[1]}", "--admin", $"127.0.0.1:{ports[2]}"], ports[0], ports[2]);
    }

    /// <summary>A client for probing: no proxy, keep-alive, short connect timeout.</summary>
    public static HttpClient Client() => new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(1),
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    })
    {
        Timeout = TimeSpan.FromSeconds(2),
    };
}
