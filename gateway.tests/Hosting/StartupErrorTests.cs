using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Hosting;

/// <summary>Bad input at start-up: one clear line on stderr naming what was wrong, exit code 2, no stack trace.</summary>
public sealed class StartupErrorTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly string[] FreePorts = ["--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0"];
    private readonly string _dir = Directory.CreateTempSubdirectory("auditgw-startup-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Unknown_flag_is_a_usage_error()
    {
        var result = await AuditgwProcess.RunAsync(Timeout, "run", "--manifest", _dir);
        AssertOneLineError(result, "--manifest");
    }

    [Fact]
    public async Task Missing_manifest_directory_is_named()
    {
        var missing = Path.Combine(_dir, "nope");
        var result = await AuditgwProcess.RunAsync(Timeout, ["run", "--manifests", missing, .. FreePorts]);
        AssertOneLineError(result, missing);
        Assert.Contains("directory not found", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Yaml_syntax_error_names_file_and_line()
    {
        var file = Path.Combine(_dir, "sub", "bad.yaml");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, "apiVersion: v1\nkind: Service\nmetadata:\n  name: [unclosed\n  namespace: x\n");
        var result = await AuditgwProcess.RunAsync(Timeout, ["run", "--manifests", _dir, .. FreePorts]);
        AssertOneLineError(result, $"{file}:");
        Assert.Matches(@"bad\.yaml:\d+:\d+: YAML syntax error", result.Stderr);
    }

    [Fact]
    public async Task Malformed_object_names_file_and_field()
    {
        File.WriteAllText(Path.Combine(_dir, "svc.yaml"), "apiVersion: v1\nkind: Service\nmetadata: { name: s }\nspec: { ports: [{ port: {} }] }\n");
        var result = await AuditgwProcess.RunAsync(Timeout, ["run", "--manifests", _dir, .. FreePorts]);
        AssertOneLineError(result, "svc.yaml:1");
        Assert.Contains("spec.ports[0].port", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--http", "nonsense")]
    [InlineData("--https", "127.0.0.1:99999")]
    [InlineData("--admin", "example.com:9090")]
    public async Task Bad_listener_address_names_the_option(string option, string value)
    {
        var others = FreePorts.Chunk(2).Where(pair => pair[0] != option).SelectMany(pair => pair);
        string[] args = ["run", "--manifests", _dir, .. others, option, value];
        var result = await AuditgwProcess.RunAsync(Timeout, args);
        AssertOneLineError(result, $"{option} '{value}'");
    }

    [Fact]
    public async Task Config_file_with_an_unknown_key_is_refused()
    {
        var config = Path.Combine(_dir, "gateway.yaml");
        File.WriteAllText(config, "policy:\n  defaultAuth: none\npolcy: {}\n");
        var result = await AuditgwProcess.RunAsync(Timeout, ["run", "--manifests", _dir, "--config", config, .. FreePorts]);
        AssertOneLineError(result, "polcy");
    }

    [Fact]
    public async Task Environment_variable_is_read_and_checked()
    {
        var info = AuditgwProcess.StartInfo(["run", "--manifests", _dir, "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0"]);
        info.Environment["AUDITGW_HTTP"] = "not-an-endpoint";
        using var process = System.Diagnostics.Process.Start(info)!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(2, process.ExitCode);
        Assert.Contains("--http 'not-an-endpoint'", stderr, StringComparison.Ordinal);
    }

    private static void AssertOneLineError(AuditgwProcess.Result result, string mention)
    {
        Assert.Equal(2, result.ExitCode);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("auditgw: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(mention, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr + result.Stdout, StringComparison.Ordinal);
    }
}
