using System.Text.Json.Nodes;

namespace AuditGateway.Kubernetes.Client;

/// <summary>
/// A kubeconfig user's <c>exec</c> section, checked as kubectl checks it. The gateway never has a
/// terminal to lend the plugin, so <c>interactiveMode: Always</c> is refused up front.
/// </summary>
internal sealed record ExecPluginConfig
{
    public const string V1 = "client.authentication.k8s.io/v1";
    public const string V1Beta1 = "client.authentication.k8s.io/v1beta1";

    /// <summary>The start of every error about this plugin: <c>kubeconfig PATH: users[NAME].user.exec</c>.</summary>
    public required string Where { get; init; }

    /// <summary>The kubeconfig user the plugin signs in.</summary>
    public required string User { get; init; }

    /// <summary>As written when looked up on PATH (no path separator); otherwise absolute (relative ones are against the kubeconfig's directory).</summary>
    public required string Command { get; init; }

    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>Added to the gateway's own environment for the plugin.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Env { get; init; } = [];

    public required string ApiVersion { get; init; }

    /// <summary>Shown when the command cannot be found (e.g. how to install the plugin).</summary>
    public string? InstallHint { get; init; }

    /// <summary>Passed to the plugin in <c>spec.cluster</c> when the kubeconfig sets <c>provideClusterInfo</c>.</summary>
    public ExecCluster? Cluster { get; init; }

    public KubeConfigException Error(string message) => new($"{Where}: {message}");

    /// <summary>Reads <c>users[user].user.exec</c>; <paramref name="cluster"/> is what the plugin gets if it asks for cluster info.</summary>
    public static ExecPluginConfig Parse(KubeconfigReader reader, JsonObject exec, string user, ExecCluster cluster)
    {
        var where = $"users[{user}].user.exec";
        var command = KubeconfigReader.String(exec, "command") is { Length: > 0 } c ? c : throw reader.Missing(where + ".command");
        var apiVersion = KubeconfigReader.String(exec, "apiVersion") ?? throw reader.Missing(where + ".apiVersion");
        if (apiVersion is not (V1 or V1Beta1))
        {
            throw reader.Error($"{where}.apiVersion '{apiVersion}' is not supported: use {V1} (or {V1Beta1})");
        }

        switch (KubeconfigReader.String(exec, "interactiveMode"))
        {
            case null when apiVersion == V1:
                throw reader.Error($"{where}.interactiveMode is required with {V1}: Never or IfAvailable (the gateway runs the plugin without a terminal)");
            case null or "Never" or "IfAvailable":
                break;
            case "Always":
                throw reader.Error($"{where}.interactiveMode is Always, but the gateway runs the plugin without a terminal: sign in beforehand and use IfAvailable or Never");
            case var other:
                throw reader.Error($"{where}.interactiveMode '{other}' is not one of Never, IfAvailable, Always");
        }

        return new ExecPluginConfig
        {
            Where = $"kubeconfig {reader.Path}: {where}",
            User = user,
            Command = command.Contains('/', StringComparison.Ordinal) ? reader.Resolve(command) : command,
            Args = reader.Strings(exec, "args", where),
            Env = ReadEnv(reader, exec, where),
            ApiVersion = apiVersion,
            InstallHint = KubeconfigReader.String(exec, "installHint"),
            Cluster = KubeconfigReader.Bool(exec, "provideClusterInfo") ? cluster : null,
        };
    }

    private static List<KeyValuePair<string, string>> ReadEnv(KubeconfigReader reader, JsonObject exec, string where)
    {
        var env = new List<KeyValuePair<string, string>>();
        if (exec["env"] is null)
        {
            return env;
        }

        if (exec["env"] is not JsonArray entries)
        {
            throw reader.Error($"{where}.env must be a list of name/value pairs");
        }

        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i] as JsonObject;
            var name = KubeconfigReader.String(entry, "name") is { Length: > 0 } n ? n : throw reader.Missing($"{where}.env[{i}].name");
            var value = KubeconfigReader.String(entry, "value") ?? throw reader.Error($"{where}.env[{i}].value must be a string (quote it)");
            env.Add(new(name, value));
        }

        return env;
    }
}
