using System.ComponentModel;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace AuditGateway.Kubernetes.Client;

/// <summary>What one plugin run gave: a bearer token and/or a client certificate, and when they stop being valid (null: never said).</summary>
internal sealed record PluginCredential(string? Token, X509Certificate2? Certificate, DateTimeOffset? Expires);

/// <summary>
/// Runs an exec credential plugin once, as kubectl does: the command found on PATH (or at its
/// path), the gateway's environment plus the configured <c>env</c>, the request in
/// <c>KUBERNETES_EXEC_INFO</c>, no stdin, and the ExecCredential read from stdout. Every failure
/// is a <see cref="KubeConfigException"/> of one line naming the kubeconfig user.
/// </summary>
internal static class ExecPlugin
{
    public const string ExecInfoVariable = "KUBERNETES_EXEC_INFO";

    /// <summary>How long a plugin may run; it is killed (with its children) after that.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private const int MaxQuoted = 500;

    public static async Task<PluginCredential> RunAsync(ExecPluginConfig config, TimeProvider time, CancellationToken cancellationToken)
    {
        var file = Locate(config.Command) ?? throw config.Error(NotFound(config));
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in config.Args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in config.Env)
        {
            start.Environment[name] = value;
        }

        var request = new ExecCredential
        {
            Kind = ExecCredential.KindName,
            ApiVersion = config.ApiVersion,
            Spec = new ExecCredentialSpec { Interactive = false, Cluster = config.Cluster },
        };
        start.Environment[ExecInfoVariable] = JsonSerializer.Serialize(request, ExecCredentialJsonContext.Default.ExecCredential);

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw config.Error($"cannot run {file}: {e.Message}");
        }

        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = new CancellationTokenSource(Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        string output;
        string errors;
        try
        {
            await process.WaitForExitAsync(linked.Token);
            output = await stdout.WaitAsync(linked.Token);
            errors = await stderr.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            cancellationToken.ThrowIfCancellationRequested();
            throw config.Error($"'{config.Command}' did not finish within {Timeout.TotalSeconds:0} s and was stopped");
        }

        if (process.ExitCode != 0)
        {
            throw config.Error($"'{config.Command}' exited with code {process.ExitCode}: {OneLine(errors) ?? "(nothing on stderr)"}");
        }

        return Parse(config, output);
    }

    /// <summary>Reads the plugin's stdout, checked as kubectl checks it.</summary>
    internal static PluginCredential Parse(ExecPluginConfig config, string output)
    {
        var command = config.Command;
        if (string.IsNullOrWhiteSpace(output))
        {
            throw config.Error($"'{command}' printed nothing: a plugin must print an ExecCredential ({config.ApiVersion}) on stdout");
        }

        ExecCredential? credential;
        try
        {
            credential = JsonSerializer.Deserialize(output, ExecCredentialJsonContext.Default.ExecCredential);
        }
        catch (JsonException e)
        {
            throw config.Error($"'{command}' printed invalid ExecCredential JSON: {OneLine(e.Message)}");
        }

        if (credential?.Kind != ExecCredential.KindName || credential.ApiVersion != config.ApiVersion)
        {
            throw config.Error(
                $"'{command}' printed kind '{credential?.Kind}' apiVersion '{credential?.ApiVersion}', but exec.apiVersion expects {ExecCredential.KindName} {config.ApiVersion}");
        }

        var status = credential.Status ?? throw config.Error($"'{command}' printed an ExecCredential without status");
        var hasCertificate = !string.IsNullOrEmpty(status.ClientCertificateData);
        var hasKey = !string.IsNullOrEmpty(status.ClientKeyData);
        if (string.IsNullOrEmpty(status.Token) && !hasCertificate && !hasKey)
        {
            throw config.Error($"'{command}' printed no credential: neither status.token nor status.clientCertificateData and clientKeyData");
        }

        if (hasCertificate != hasKey)
        {
            throw config.Error($"'{command}' printed only one of status.clientCertificateData and status.clientKeyData");
        }

        X509Certificate2? certificate = null;
        if (hasCertificate)
        {
            try
            {
                certificate = X509Certificate2.CreateFromPem(status.ClientCertificateData, status.ClientKeyData);
            }
            catch (CryptographicException e)
            {
                throw config.Error($"'{command}' printed an unusable status.clientCertificateData/clientKeyData: {OneLine(e.Message)}");
            }
        }

        return new PluginCredential(string.IsNullOrEmpty(status.Token) ? null : status.Token, certificate, status.ExpirationTimestamp);
    }

    /// <summary>A command with a path separator is used as it is; any other is looked up on PATH, as kubectl does.</summary>
    private static string? Locate(string command)
    {
        if (command.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(command) ? command : null;
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, command))
            .FirstOrDefault(IsExecutable);
    }

    private static bool IsExecutable(string path) =>
        File.Exists(path)
        && (OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0);

    private static string NotFound(ExecPluginConfig config)
    {
        var where = config.Command.Contains('/', StringComparison.Ordinal) ? "" : " on PATH";
        var hint = OneLine(config.InstallHint) is { } h ? $"; install hint: {h}" : "";
        return $"executable '{config.Command}' not found{where}{hint}";
    }

    /// <summary>Text for a one-line error: white space collapsed, cut after <see cref="MaxQuoted"/> characters; null when empty.</summary>
    private static string? OneLine(string? text)
    {
        var joined = string.Join(' ', (text ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return joined.Length == 0 ? null : joined.Length <= MaxQuoted ? joined : joined[..MaxQuoted] + "…";
    }
}
