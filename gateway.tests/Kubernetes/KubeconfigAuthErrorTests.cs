using System.Text.Json.Nodes;
using AuditGateway.Kubernetes.Client;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Kubernetes;

/// <summary>
/// A kubeconfig user whose credentials the client cannot use stops start-up with one line that
/// names the user and what is wrong (docs/configuration.md), before anything connects.
/// </summary>
public sealed class KubeconfigAuthErrorTests
{
    private const string Where = $"users[{PluginScript.User}].user";
    private static readonly Uri Unreachable = new("https://127.0.0.1:1");
    private static readonly string[] FreePorts = ["--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0"];

    public static TheoryData<string, string, string> Plugins => new()
    {
        { "exit 0", PluginScript.V1, "user.exec: './plugin.sh' printed nothing" },
        { "echo '{not json'", PluginScript.V1, "printed invalid ExecCredential JSON: " },
        {
            """printf '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":"t"}}'""", PluginScript.V1,
            "printed kind 'ExecCredential' apiVersion 'client.authentication.k8s.io/v1beta1', but exec.apiVersion expects ExecCredential client.authentication.k8s.io/v1"
        },
        { """printf '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{}}'""", PluginScript.V1, "printed no credential: neither status.token nor" },
        { """printf '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1"}'""", PluginScript.V1, "printed an ExecCredential without status" },
        {
            """printf '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"clientCertificateData":"x"}}'""", PluginScript.V1,
            "printed only one of status.clientCertificateData and status.clientKeyData"
        },
        { "echo 'first line' >&2; echo '  token expired: run aws sso login  ' >&2; exit 3", PluginScript.V1Beta1, "exited with code 3: first line token expired: run aws sso login" },
    };

    [Theory]
    [MemberData(nameof(Plugins))]
    public void A_plugin_that_gives_no_usable_credential_is_one_line_naming_the_user(string body, string apiVersion, string expected)
    {
        using var plugin = PluginScript.Create(body);
        var path = plugin.WriteKubeconfig(Unreachable, null, new JsonObject { ["exec"] = PluginScript.Exec(apiVersion) });
        var e = Assert.Throws<KubeConfigException>(() => KubeClientConfig.FromKubeconfig(path));
        AssertOneLine(e.Message, path, expected.Replace("./plugin.sh", plugin.ScriptPath, StringComparison.Ordinal));
        Assert.Equal(1, plugin.Runs);
    }

    public static TheoryData<JsonObject, string> Users => new()
    {
        {
            new JsonObject { ["exec"] = new JsonObject { ["apiVersion"] = PluginScript.V1, ["interactiveMode"] = "Never", ["command"] = "auditgw-no-such-plugin", ["installHint"] = "Install it:\n  brew install no-such-plugin\n" } },
            $"{Where}.exec: executable 'auditgw-no-such-plugin' not found on PATH; install hint: Install it: brew install no-such-plugin"
        },
        { new JsonObject { ["exec"] = PluginScript.Exec(PluginScript.V1, "Always") }, $"{Where}.exec.interactiveMode is Always, but the gateway runs the plugin without a terminal" },
        { new JsonObject { ["exec"] = PluginScript.Exec(PluginScript.V1, interactiveMode: null) }, $"{Where}.exec.interactiveMode is required with client.authentication.k8s.io/v1" },
        { new JsonObject { ["exec"] = PluginScript.Exec("client.authentication.k8s.io/v1alpha1") }, $"{Where}.exec.apiVersion 'client.authentication.k8s.io/v1alpha1' is not supported" },
        { new JsonObject { ["exec"] = new JsonObject { ["apiVersion"] = PluginScript.V1, ["interactiveMode"] = "Never" } }, $"{Where}.exec.command is missing" },
        { new JsonObject { ["exec"] = PluginScript.Exec(PluginScript.V1, "Never", ("args", new JsonArray(8080))) }, $"{Where}.exec.args[0] must be a string" },
        { new JsonObject { ["auth-provider"] = new JsonObject { ["name"] = "gcp" } }, $"{Where}.auth-provider 'gcp' is not supported: use the exec plugin gke-gcloud-auth-plugin" },
        { new JsonObject { ["auth-provider"] = new JsonObject { ["name"] = "azure" } }, $"{Where}.auth-provider 'azure' is not supported: use the exec plugin kubelogin" },
        { new JsonObject { ["auth-provider"] = new JsonObject { ["name"] = "oidc" } }, $"{Where}.auth-provider 'oidc' is not supported: use the exec plugin kubelogin" },
        { new JsonObject { ["username"] = "admin", ["password"] = "secret" }, $"{Where}.username/password (basic authentication) is not supported" },
        { new JsonObject { ["token"] = "t", ["as"] = "someone-else" }, $"{Where}.as (impersonation) is not supported" },
    };

    [Theory]
    [MemberData(nameof(Users))]
    public void A_user_the_client_cannot_use_is_one_line_naming_the_user_and_the_plugin_does_not_run(JsonObject user, string expected)
    {
        using var plugin = PluginScript.Create();
        var path = plugin.WriteKubeconfig(Unreachable, null, user);
        var e = Assert.Throws<KubeConfigException>(() => KubeClientConfig.FromKubeconfig(path));
        AssertOneLine(e.Message, path, expected);
        Assert.Equal(0, plugin.Runs);
    }

    [Fact]
    public async Task Auditgw_run_stops_with_the_plugin_stderr_on_one_line_and_exit_code_2()
    {
        using var plugin = PluginScript.Create("echo 'error: SSO session expired; run: aws sso login' >&2; exit 1");
        var path = plugin.WriteKubeconfig(Unreachable, null, new JsonObject { ["exec"] = PluginScript.Exec(PluginScript.V1) });
        var result = await AuditgwProcess.RunAsync(TimeSpan.FromSeconds(30), ["run", "--kubeconfig", path, "--data", Path.Combine(plugin.Directory, "data"), .. FreePorts]);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(
            $"auditgw: --kubeconfig {path}: {Where}.exec: '{plugin.ScriptPath}' exited with code 1: error: SSO session expired; run: aws sso login", line);
        Assert.DoesNotContain("   at ", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auditgw_run_stops_on_an_auth_provider_naming_its_replacement()
    {
        using var plugin = PluginScript.Create();
        var path = plugin.WriteKubeconfig(Unreachable, null, new JsonObject { ["auth-provider"] = new JsonObject { ["name"] = "gcp", ["config"] = new JsonObject() } });
        var result = await AuditgwProcess.RunAsync(TimeSpan.FromSeconds(30), ["run", "--kubeconfig", path, "--data", Path.Combine(plugin.Directory, "data"), .. FreePorts]);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"auditgw: --kubeconfig {path}: {Where}.auth-provider 'gcp' is not supported: use the exec plugin gke-gcloud-auth-plugin", line, StringComparison.Ordinal);
    }

    private static void AssertOneLine(string message, string path, string expected)
    {
        Assert.StartsWith($"kubeconfig {path}: {Where}", message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message);
    }
}
