using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace AuditGateway.Tests.Kubernetes;

/// <summary>
/// A temporary directory with an exec credential plugin written at run time (a bash script) and
/// kubeconfigs using it. The default script counts its runs in <c>runs</c>, saves what it was
/// given (<c>KUBERNETES_EXEC_INFO</c>, its arguments, <c>$PLUGIN_GREETING</c>) per run, and prints
/// <c>answer-N.json</c> for run N if the test wrote one, else <c>answer.json</c>.
/// </summary>
internal sealed class PluginScript : IDisposable
{
    public const string User = "exec-user";
    public const string V1 = "client.authentication.k8s.io/v1";
    public const string V1Beta1 = "client.authentication.k8s.io/v1beta1";

    private const string Recorder = """
        #!/bin/bash
        dir="$(dirname "$0")"
        n=$(( $(cat "$dir/runs" 2>/dev/null || echo 0) + 1 ))
        echo "$n" > "$dir/runs"
        printf '%s' "$KUBERNETES_EXEC_INFO" > "$dir/exec-info-$n.json"
        printf '%s\n' "$@" > "$dir/args-$n"
        printf '%s' "$PLUGIN_GREETING" > "$dir/env-$n"

        """;

    private PluginScript(string body)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("exec-plugin-").FullName;
        File.WriteAllText(ScriptPath, Recorder + body + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(ScriptPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    public string Directory { get; }

    public string ScriptPath => Path.Combine(Directory, "plugin.sh");

    public string KubeconfigPath => Path.Combine(Directory, "kubeconfig");

    /// <summary>How many times the plugin ran.</summary>
    public int Runs => File.Exists(Path.Combine(Directory, "runs")) ? int.Parse(File.ReadAllText(Path.Combine(Directory, "runs")).Trim(), CultureInfo.InvariantCulture) : 0;

    /// <summary>A plugin printing its answer files; <paramref name="body"/> replaces that (the recording still happens first).</summary>
    public static PluginScript Create(string body = """
        if [ -f "$dir/answer-$n.json" ]; then cat "$dir/answer-$n.json"; else cat "$dir/answer.json"; fi
        """) => new(body);

    /// <summary>What run <paramref name="run"/> prints (null: every run without its own answer).</summary>
    public void Answer(JsonObject credential, int? run = null) =>
        File.WriteAllText(Path.Combine(Directory, run is { } n ? $"answer-{n}.json" : "answer.json"), credential.ToJsonString());

    public JsonObject ExecInfo(int run) => JsonNode.Parse(File.ReadAllText(Path.Combine(Directory, $"exec-info-{run}.json")))!.AsObject();

    public string Args(int run) => File.ReadAllText(Path.Combine(Directory, $"args-{run}"));

    public string Greeting(int run) => File.ReadAllText(Path.Combine(Directory, $"env-{run}"));

    /// <summary>An ExecCredential with a token, or a client certificate, and an optional expiry.</summary>
    public static JsonObject Credential(string apiVersion, string? token = null, X509Certificate2? certificate = null, DateTimeOffset? expires = null)
    {
        var status = new JsonObject();
        if (token is not null)
        {
            status["token"] = token;
        }

        if (certificate is not null)
        {
            status["clientCertificateData"] = certificate.ExportCertificatePem();
            status["clientKeyData"] = certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem();
        }

        if (expires is { } e)
        {
            status["expirationTimestamp"] = e.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        }

        return new JsonObject { ["kind"] = "ExecCredential", ["apiVersion"] = apiVersion, ["status"] = status };
    }

    /// <summary>The <c>exec</c> section running this script (by its path relative to the kubeconfig) with the given extra fields.</summary>
    public static JsonObject Exec(string apiVersion, string? interactiveMode = "Never", params (string Key, JsonNode? Value)[] extra)
    {
        var exec = new JsonObject { ["apiVersion"] = apiVersion, ["command"] = "./plugin.sh" };
        if (interactiveMode is not null)
        {
            exec["interactiveMode"] = interactiveMode;
        }

        foreach (var (key, value) in extra)
        {
            exec[key] = value;
        }

        return exec;
    }

    /// <summary>
    /// Writes <see cref="KubeconfigPath"/> (JSON, which kubectl and the gateway read as YAML): one
    /// cluster at <paramref name="server"/> trusting <paramref name="caPem"/> (if any) plus
    /// <paramref name="cluster"/> fields, and the user <see cref="User"/> with <paramref name="user"/> fields.
    /// </summary>
    public string WriteKubeconfig(Uri server, string? caPem, JsonObject user, JsonObject? cluster = null)
    {
        cluster ??= [];
        cluster["server"] = server.GetLeftPart(UriPartial.Authority);
        if (caPem is not null)
        {
            cluster["certificate-authority-data"] = Convert.ToBase64String(Encoding.ASCII.GetBytes(caPem));
        }

        var config = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Config",
            ["clusters"] = new JsonArray(new JsonObject { ["name"] = "fake", ["cluster"] = cluster }),
            ["users"] = new JsonArray(new JsonObject { ["name"] = User, ["user"] = user }),
            ["contexts"] = new JsonArray(new JsonObject
            {
                ["name"] = "fake",
                ["context"] = new JsonObject { ["cluster"] = "fake", ["user"] = User, ["namespace"] = "default" },
            }),
            ["current-context"] = "fake",
        };
        File.WriteAllText(KubeconfigPath, config.ToJsonString());
        return KubeconfigPath;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
