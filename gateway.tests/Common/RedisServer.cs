using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace AuditGateway.Tests.Common;

/// <summary>
/// A real <c>redis-server</c> (Debian's package; scripts/test installs it) on a free loopback port,
/// with no persistence, in its own temporary directory. It can be stopped and started again on the
/// same port, and paused with SIGSTOP, as the replica tests need. Extra arguments set a password,
/// ACL users or TLS.
/// </summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private readonly string _directory = System.IO.Directory.CreateTempSubdirectory("auditgw-redis-").FullName;
    private readonly string[] _extra;
    private Process? _process;
    private ConnectionMultiplexer? _client;

    private RedisServer(int port, string[] extra)
    {
        Port = port;
        _extra = extra;
    }

    public int Port { get; }

    /// <summary><c>redis://127.0.0.1:PORT</c>: what the gateway's <c>redis.connection</c> gets.</summary>
    public string Url => $"redis://127.0.0.1:{Port}";

    public string Directory => _directory;

    /// <summary>Starts a server; <paramref name="extra"/> are more <c>redis-server</c> arguments (e.g. <c>--requirepass</c>).</summary>
    public static async Task<RedisServer> StartAsync(params string[] extra)
    {
        var server = new RedisServer(FreePort(), extra);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>A client of the test's own, for arranging and checking what the gateways share (password-less servers only).</summary>
    public async Task<IDatabase> DatabaseAsync()
    {
        _client ??= await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{Port},abortConnect=false,connectTimeout=2000,syncTimeout=2000,asyncTimeout=2000");
        return _client.GetDatabase();
    }

    /// <summary>Starts the server again on the same port (after <see cref="StopAsync"/>), empty.</summary>
    public async Task StartAgainAsync()
    {
        var info = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        foreach (var arg in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _directory, "--protected-mode", "no" }.Concat(_extra))
        {
            info.ArgumentList.Add(arg);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start (apt-get install -y redis-server)");
        var output = new System.Text.StringBuilder();
        _process.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Eventually.TrueAsync(
            () =>
            {
                lock (output)
                {
                    return output.ToString().Contains("Ready to accept connections", StringComparison.Ordinal) || _process.HasExited;
                }
            },
            TimeSpan.FromSeconds(20),
            "redis-server says it is ready");
        if (_process.HasExited)
        {
            throw new InvalidOperationException("redis-server exited: " + output);
        }
    }

    /// <summary>Kills the server (as a crash or an outage would); clients see their connections drop.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>SIGSTOP: the server holds its connections open and answers nothing.</summary>
    public void Pause() => Signal("STOP");

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume() => Signal("CONT");

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {_process.Id} failed");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            Resume();
        }

        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        await StopAsync();
        _process?.Dispose();
        System.IO.Directory.Delete(_directory, recursive: true);
    }

    /// <summary>A loopback port nothing listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
