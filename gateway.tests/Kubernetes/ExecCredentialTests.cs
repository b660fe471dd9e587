using System.Text;
using System.Text.Json.Nodes;
using AuditGateway.Kubernetes.Client;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Common.FakeApiServer;

namespace AuditGateway.Tests.Kubernetes;

/// <summary>
/// Exec credential plugins against the fake API server: the plugin's credential is the only one
/// the server accepts, and the same kubeconfig works with the real kubectl.
/// </summary>
public sealed class ExecCredentialTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly PluginScript _plugin = PluginScript.Create();
    private readonly ManualTimeProvider _time = new(Start);

    public void Dispose() => _plugin.Dispose();

    private static Task<FakeApiServer> ServerAcceptingAsync(params string[] tokens) =>
        FakeApiServer.StartAsync(new FakeApiServerOptions
        {
            Users = tokens.ToDictionary(t => t, t => new FakeUser("exec:" + t, ["system:authenticated"]), StringComparer.Ordinal),
        });

    private static Task<KubeList> ListIngressesAsync(KubeApiClient client) =>
        client.ListAsync(KubeResourceType.Ingresses, null, new ListOptions(), CancellationToken.None);

    /// <summary>A client from the plugin's kubeconfig, on the manual clock (this runs the plugin once).</summary>
    private KubeApiClient Client() => new(KubeClientConfig.FromKubeconfig(_plugin.KubeconfigPath, time: _time));

    private Task<KubectlResult> KubectlAsync(params string[] args) => Kubectl.RunAsync(_plugin.KubeconfigPath, _plugin.Directory, null, args);

    [Fact]
    public async Task A_v1_plugin_is_run_at_start_with_its_args_env_and_cluster_info_and_its_token_works_for_the_client_and_kubectl()
    {
        await using var server = await ServerAcceptingAsync("exec-token-1");
        _plugin.Answer(PluginScript.Credential(PluginScript.V1, token: "exec-token-1"));
        _plugin.WriteKubeconfig(server.Url, server.CaPem, new JsonObject
        {
            ["exec"] = PluginScript.Exec(PluginScript.V1, "Never",
                ("args", new JsonArray("--region", "eu-1")),
                ("env", new JsonArray(new JsonObject { ["name"] = "PLUGIN_GREETING", ["value"] = "hello" })),
                ("provideClusterInfo", true)),
        });

        var config = KubeClientConfig.FromKubeconfig(_plugin.KubeconfigPath, time: _time);
        Assert.Equal(1, _plugin.Runs);
        using var client = new KubeApiClient(config);
        await ListIngressesAsync(client);
        await ListIngressesAsync(client);
        Assert.Equal(1, _plugin.Runs);

        var info = _plugin.ExecInfo(1);
        Assert.Equal("ExecCredential", (string?)info["kind"]);
        Assert.Equal(PluginScript.V1, (string?)info["apiVersion"]);
        Assert.False((bool)info["spec"]!["interactive"]!);
        Assert.Equal(server.Url.GetLeftPart(UriPartial.Authority), (string?)info["spec"]!["cluster"]!["server"]);
        Assert.Equal(server.CaPem, Encoding.ASCII.GetString(Convert.FromBase64String((string)info["spec"]!["cluster"]!["certificate-authority-data"]!)));
        Assert.Equal("--region\neu-1\n", _plugin.Args(1));
        Assert.Equal("hello", _plugin.Greeting(1));

        (await KubectlAsync("get", "ingresses", "-A")).EnsureSuccess();
        Assert.Equal(2, _plugin.Runs);
        Assert.Equal(PluginScript.V1, (string?)_plugin.ExecInfo(2)["apiVersion"]);
    }

    [Fact]
    public async Task A_v1beta1_plugin_may_omit_interactiveMode_and_gets_no_cluster_info_unless_it_asks()
    {
        await using var server = await ServerAcceptingAsync("beta-token");
        _plugin.Answer(PluginScript.Credential(PluginScript.V1Beta1, token: "beta-token"));
        _plugin.WriteKubeconfig(server.Url, server.CaPem, new JsonObject { ["exec"] = PluginScript.Exec(PluginScript.V1Beta1, interactiveMode: null) });

        using var client = Client();
        await ListIngressesAsync(client);
        var info = _plugin.ExecInfo(1);
        Assert.Equal(PluginScript.V1Beta1, (string?)info["apiVersion"]);
        Assert.False((bool)info["spec"]!["interactive"]!);
        Assert.Null(info["spec"]!["cluster"]);
        Assert.Equal("", _plugin.Args(1).Trim());

        (await KubectlAsync("get", "ingresses", "-A")).EnsureSuccess();
    }

    [Fact]
    public async Task An_expiring_token_is_refreshed_a_minute_before_its_expirationTimestamp()
    {
        await using var server = await ServerAcceptingAsync("exec-token-1", "exec-token-2");
        _plugin.Answer(PluginScript.Credential(PluginScript.V1, token: "exec-token-1", expires: Start.AddMinutes(10)), run: 1);
        _plugin.Answer(PluginScript.Credential(PluginScript.V1, token: "exec-token-2", expires: Start.AddMinutes(20)), run: 2);
        _plugin.WriteKubeconfig(server.Url, server.CaPem, new JsonObject { ["exec"] = PluginScript.Exec(PluginScript.V1) });
        using var client = Client();

        _time.Advance(TimeSpan.FromMinutes(9) - TimeSpan.FromSeconds(1));
        await ListIngressesAsync(client);
        Assert.Equal(1, _plugin.Runs);

        // The server still accepts the first token, so only the clock can have made the plugin run again.
        _time.Advance(TimeSpan.FromSeconds(1));
        await ListIngressesAsync(client);
        Assert.Equal(2, _plugin.Runs);
        server.Revoke("exec-token-1");
        await ListIngressesAsync(client);
        Assert.Equal(2, _plugin.Runs);
    }

    [Fact]
    public async Task A_refused_token_runs_the_plugin_again_and_the_request_is_retried_once()
    {
        await using var server = await ServerAcceptingAsync("exec-token-1", "exec-token-2");
        _plugin.Answer(PluginScript.Credential(PluginScript.V1, token: "exec-token-1"), run: 1);
        _plugin.Answer(PluginScript.Credential(PluginScript.V1, token: "exec-token-2"), run: 2);
        _plugin.Answer(PluginScript.Credential(PluginScript.V1, token: "never-accepted"));
        _plugin.WriteKubeconfig(server.Url, server.CaPem, new JsonObject { ["exec"] = PluginScript.Exec(PluginScript.V1) });
        using var client = Client();
        await ListIngressesAsync(client);

        server.Revoke("exec-token-1");
        await ListIngressesAsync(client);
        Assert.Equal(2, _plugin.Runs);

        server.Revoke("exec-token-2");
        var refused = await Assert.ThrowsAsync<KubeApiException>(() => ListIngressesAsync(client));
        Assert.Equal(401, refused.StatusCode);
        Assert.Equal(3, _plugin.Runs);
    }

    [Fact]
    public async Task A_plugin_failing_after_start_up_fails_the_request_as_a_retryable_error_naming_the_user()
    {
        using var failing = PluginScript.Create("""
            if [ "$n" -ge 2 ]; then echo 'refresh token revoked' >&2; exit 4; fi
            printf '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"exec-token-1"}}'
            """);
        await using var server = await ServerAcceptingAsync("exec-token-1");
        var path = failing.WriteKubeconfig(server.Url, server.CaPem, new JsonObject { ["exec"] = PluginScript.Exec(PluginScript.V1) });
        using var client = new KubeApiClient(KubeClientConfig.FromKubeconfig(path, time: _time));
        await ListIngressesAsync(client);

        server.Revoke("exec-token-1");
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => ListIngressesAsync(client));
        Assert.Equal($"getting credentials: kubeconfig {path}: users[{PluginScript.User}].user.exec: '{failing.ScriptPath}' exited with code 4: refresh token revoked", e.Message);
        Assert.Equal(2, failing.Runs);
    }

    [Fact]
    public async Task A_client_certificate_from_the_plugin_is_presented_and_a_new_one_replaces_the_pooled_connections()
    {
        await using var server = await FakeApiServer.StartAsync(new FakeApiServerOptions { ClientCertificates = true, Users = new Dictionary<string, FakeUser>() });
        using var first = server.IssueClientCertificate("exec-cert-1", "system:masters");
        using var second = server.IssueClientCertificate("exec-cert-2", "system:masters");
        _plugin.Answer(PluginScript.Credential(PluginScript.V1, certificate: first), run: 1);
        _plugin.Answer(PluginScript.Credential(PluginScript.V1, certificate: second));
        _plugin.WriteKubeconfig(server.Url, server.CaPem, new JsonObject { ["exec"] = PluginScript.Exec(PluginScript.V1) });
        using var client = Client();
        await ListIngressesAsync(client);

        // The pooled connection was authenticated with the first certificate: only a new one can carry the second.
        server.Revoke("exec-cert-1");
        await ListIngressesAsync(client);
        Assert.Equal(2, _plugin.Runs);

        (await KubectlAsync("get", "ingresses", "-A")).EnsureSuccess();
    }

    [Fact]
    public async Task A_plugin_that_does_not_finish_is_stopped_after_60_seconds_with_the_user_named()
    {
        using var hanging = PluginScript.Create("""
            if [ "$n" -ge 2 ]; then exec sleep 600; fi
            printf '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"t"}}'
            """);
        var path = hanging.WriteKubeconfig(new Uri("https://127.0.0.1:1"), null, new JsonObject { ["exec"] = PluginScript.Exec(PluginScript.V1) });
        var exec = KubeClientConfig.FromKubeconfig(path, time: _time).Exec!;

        exec.Invalidate(exec.Current!);
        var run = exec.GetAsync(CancellationToken.None).AsTask();
        await Eventually.TrueAsync(() => _time.ActiveTimers > 0 && hanging.Runs == 2, because: "the second run started");
        _time.Advance(ExecPlugin.Timeout - TimeSpan.FromSeconds(1));
        Assert.False(run.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));

        var e = await Assert.ThrowsAsync<KubeConfigException>(() => run);
        Assert.Equal($"kubeconfig {path}: users[{PluginScript.User}].user.exec: '{hanging.ScriptPath}' did not finish within 60 s and was stopped", e.Message);
    }
}
