using System.Diagnostics;
using System.Text.Json;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Demo;

/// <summary>
/// A class fixture: <c>auditgw demo</c> as a newcomer starts it — a child process in an empty
/// directory (free ports instead of the defaults) — and the banner it printed once it was ready.
/// </summary>
public sealed class RunningDemo : IAsyncLifetime
{
    private const string Ready = "Press Ctrl+C to stop.";

    private Process? _process;
    private Task? _drain;

    /// <summary>Where the demo was started: the printed paths are relative to it.</summary>
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("auditgw-demo-").FullName;

    /// <summary>The data directory the demo uses by default.</summary>
    public string Data => Path.Combine(Directory, "auditgw-data");

    /// <summary>What the demo printed on standard output up to <see cref="Ready"/>.</summary>
    public IReadOnlyList<string> Banner { get; private set; } = [];

    internal IEnumerable<PrintedCurl> CurlLines => Banner.Select(l => l.Trim()).Where(l => l.StartsWith("curl ", StringComparison.Ordinal)).Select(l => PrintedCurl.Parse(l, Directory));

    /// <summary>The printed <c>auditgw</c> command lines, as the arguments after the launcher (whatever path it was printed with).</summary>
    public IEnumerable<string[]> AuditgwLines => Banner
        .Select(l => l.Split('#')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .Where(words => words.Length > 1 && Path.GetFileName(words[0]) == "auditgw")
        .Select(words => words[1..]);

    /// <summary>The text after <paramref name="prefix"/> on the first banner line that starts with it (trimmed).</summary>
    public string After(string prefix)
    {
        var line = Banner.Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        Assert.True(line is not null, $"the banner has no line starting '{prefix}':\n{string.Join('\n', Banner)}");
        return line[prefix.Length..].Trim();
    }

    /// <summary>The printed curl line whose URL path is <paramref name="path"/> and that matches <paramref name="also"/>.</summary>
    internal PrintedCurl Curl(string path, Func<PrintedCurl, bool>? also = null)
    {
        var found = CurlLines.Where(c => c.Url.AbsolutePath == path && (also?.Invoke(c) ?? true)).ToList();
        Assert.True(found.Count == 1, $"{found.Count} printed curl lines for {path}:\n{string.Join('\n', Banner)}");
        return found[0];
    }

    /// <summary>Waits until the log holds an entry that <paramref name="match"/> accepts, and returns it.</summary>
    public async Task<JsonElement> LoggedAsync(Func<JsonElement, bool> match, string because)
    {
        JsonElement? found = null;
        await Eventually.TrueAsync(() => (found = AuditLogFiles.ReadEntries(Data).Cast<JsonElement?>().FirstOrDefault(e => match(e!.Value))) is not null, TimeSpan.FromSeconds(10), because);
        return found!.Value;
    }

    public async Task InitializeAsync()
    {
        var info = AuditgwProcess.StartInfo("demo", "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0");
        info.WorkingDirectory = Directory;
        _process = Process.Start(info)!;
        var stderr = _process.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            while (await _process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                lines.Add(line);
                if (line == Ready)
                {
                    Banner = lines;
                    _drain = Task.WhenAll(_process.StandardOutput.ReadToEndAsync(), stderr);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        throw new InvalidOperationException($"auditgw demo did not print '{Ready}':\n{string.Join('\n', lines)}\n{await stderr}");
    }

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            if (_drain is not null)
            {
                await _drain;
            }

            _process.Dispose();
        }

        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
