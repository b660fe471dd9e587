using System.Diagnostics;
using System.Text.Json.Nodes;
using AuditGateway.Configuration;
using AuditGateway.Hosting;
using AuditGateway.Tests.Common.FakeApiServer;

namespace AuditGateway.Tests.Kubernetes;

/// <summary>The manifests in k8s/ build with kustomize (client-side, no cluster) and say what docs/operations.md asks.</summary>
public sealed class DeploymentManifestTests
{
    private static string RepositoryDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "k8s", "kustomization.yaml")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("k8s/kustomization.yaml not found above " + AppContext.BaseDirectory);
    }

    private static Task<List<JsonObject>> KustomizeAsync() => KustomizeAsync(Path.Combine(RepositoryDirectory(), "k8s"));

    private static async Task<List<JsonObject>> KustomizeAsync(string directory)
    {
        var start = new ProcessStartInfo(Kubectl.Path, ["kustomize", directory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["HOME"] = Path.GetTempPath();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"kubectl kustomize {directory}: " + stderr);
        return [.. YamlDocuments.Parse(await stdout).Select(d => d.Root).OfType<JsonObject>()];
    }

    private static JsonObject One(List<JsonObject> objects, string kind, string? name = null) =>
        Assert.Single(objects, o => (string?)o["kind"] == kind && (name is null || (string?)o["metadata"]?["name"] == name));

    [Fact]
    public async Task Kustomize_builds_the_deployment_of_product_section_11()
    {
        var objects = await KustomizeAsync();
        foreach (var kind in (string[])["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ConfigMap", "StatefulSet", "IngressClass", "ValidatingWebhookConfiguration", "PodDisruptionBudget"])
        {
            One(objects, kind);
        }

        Assert.DoesNotContain(objects, o => (string?)o["kind"] == "Deployment");
        var deployment = One(objects, "StatefulSet");
        Assert.Equal(2L, (long?)deployment["spec"]!["replicas"]);
        var pod = deployment["spec"]!["template"]!["spec"]!;
        Assert.True((bool?)pod["securityContext"]!["runAsNonRoot"]);
        var container = pod["containers"]![0]!;
        Assert.True((bool?)container["securityContext"]!["readOnlyRootFilesystem"]);
        Assert.Equal("/readyz", (string?)container["readinessProbe"]!["httpGet"]!["path"]);
        Assert.Equal("/healthz", (string?)container["livenessProbe"]!["httpGet"]!["path"]);
        var args = container["args"]!.AsArray().Select(a => (string?)a).ToList();
        Assert.Contains("--publish-service=auditgateway/auditgateway", args);
        Assert.DoesNotContain(args, a => a!.StartsWith("--manifests", StringComparison.Ordinal));

        Assert.Equal("auditgateway.io/ingress-controller", (string?)One(objects, "IngressClass")["spec"]!["controller"]);
        var webhook = One(objects, "ValidatingWebhookConfiguration")["webhooks"]![0]!;
        Assert.Equal("/k8s/admission", (string?)webhook["clientConfig"]!["service"]!["path"]);
        Assert.Equal("None", (string?)webhook["sideEffects"]);
        Assert.Equal("ingresses", (string?)webhook["rules"]![0]!["resources"]![0]);

        // Least privilege: nothing but status is updated, and secrets are only read.
        var rules = One(objects, "ClusterRole")["rules"]!.AsArray();
        var writes = rules.Where(r => r!["verbs"]!.AsArray().Any(v => (string?)v is "update" or "create" or "patch" or "delete")).ToList();
        Assert.All(writes, r => Assert.True(r!["resources"]!.AsArray().All(x => (string?)x is "ingresses/status" or "events")));
        var role = One(objects, "Role")["rules"]!.AsArray();
        Assert.Contains(role, r => (string?)r!["resources"]![0] == "leases");

        // The configuration the pods read is valid for this gateway.
        var config = Path.GetTempFileName();
        try
        {
            File.WriteAllText(config, (string)One(objects, "ConfigMap")["data"]!["gateway.yaml"]!);
            var file = ConfigFile.Load(config);
            Assert.Equal("/etc/auditgw/tls/tls.crt", file.Admin!.Tls!.CertFile);
        }
        finally
        {
            File.Delete(config);
        }
    }

    private static string Data(JsonNode container) =>
        container["args"]!.AsArray().Select(a => (string?)a).Single(a => a!.StartsWith("--data=", StringComparison.Ordinal))!["--data=".Length..];

    private static JsonNode Mount(JsonNode container, string path) =>
        Assert.Single(container["volumeMounts"]!.AsArray(), m => (string?)m!["mountPath"] == path)!;

    [Fact]
    public async Task The_data_directory_is_a_claim_per_replica_and_the_node_is_the_stable_pod_name()
    {
        var objects = await KustomizeAsync();
        var set = One(objects, "StatefulSet", "auditgateway");
        var pod = set["spec"]!["template"]!["spec"]!;
        var container = pod["containers"]![0]!;

        // --data is mounted from the claim template, not from an emptyDir.
        var data = Mount(container, Data(container));
        var claim = Assert.Single(set["spec"]!["volumeClaimTemplates"]!.AsArray(), c => (string?)c!["metadata"]!["name"] == (string?)data["name"])!;
        Assert.Equal("ReadWriteOnce", (string?)claim["spec"]!["accessModes"]![0]);
        Assert.NotNull((string?)claim["spec"]!["resources"]!["requests"]!["storage"]);
        Assert.DoesNotContain(pod["volumes"]!.AsArray(), v => (string?)v!["name"] == (string?)data["name"]);
        Assert.Equal("Retain", (string?)set["spec"]!["persistentVolumeClaimRetentionPolicy"]!["whenDeleted"]);
        Assert.Equal(1654L, (long?)pod["securityContext"]!["fsGroup"]);

        // The image's data path is the one mounted (Dockerfile AUDITGW_DATA and VOLUME).
        var dockerfile = File.ReadAllText(Path.Combine(RepositoryDirectory(), "Dockerfile"));
        Assert.Contains("AUDITGW_DATA=" + Data(container) + " ", dockerfile, StringComparison.Ordinal);

        var node = Assert.Single(container["env"]!.AsArray(), e => (string?)e!["name"] == "AUDITGW_NODE")!;
        Assert.Equal("metadata.name", (string?)node["valueFrom"]!["fieldRef"]!["fieldPath"]);

        // serviceName names a headless Service selecting these pods.
        var headless = One(objects, "Service", (string?)set["spec"]!["serviceName"]);
        Assert.Equal("None", (string?)headless["spec"]!["clusterIP"]);

        // The PDB and the Services select exactly what the pod template is labelled with.
        var labels = set["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
        void Selects(JsonNode selector, string what)
        {
            foreach (var (key, value) in selector.AsObject())
            {
                Assert.True((string?)labels[key] == (string?)value, $"{what} selects {key}={value}, the pod template has {labels[key]}");
            }
        }

        Selects(One(objects, "PodDisruptionBudget")["spec"]!["selector"]!["matchLabels"]!, "the PodDisruptionBudget");
        Selects(set["spec"]!["selector"]!["matchLabels"]!, "the StatefulSet");
        foreach (var service in objects.Where(o => (string?)o["kind"] == "Service"))
        {
            Selects(service["spec"]!["selector"]!, "Service " + service["metadata"]!["name"]);
        }
    }

    [Fact]
    public async Task The_archive_component_adds_a_second_claim_and_sets_audit_archive_dir()
    {
        var k8s = Path.Combine(RepositoryDirectory(), "k8s");
        var overlay = Directory.CreateTempSubdirectory("auditgw-archive-overlay-").FullName;
        var config = Path.GetTempFileName();
        try
        {
            // kustomize wants relative paths, and an overlay outside k8s/ (no cycle).
            var relative = Path.GetRelativePath(overlay, k8s).Replace('\\', '/');
            File.WriteAllText(Path.Combine(overlay, "kustomization.yaml"), $"resources: [{relative}]\ncomponents: [{relative}/archive]\n");
            var objects = await KustomizeAsync(overlay);
            var set = One(objects, "StatefulSet", "auditgateway");
            var container = set["spec"]!["template"]!["spec"]!["containers"]![0]!;
            var claims = set["spec"]!["volumeClaimTemplates"]!.AsArray().Select(c => (string?)c!["metadata"]!["name"]).ToList();
            Assert.Equal(["data", "archive"], claims);
            Assert.Equal("data", (string?)Mount(container, Data(container))["name"]);

            File.WriteAllText(config, (string)One(objects, "ConfigMap")["data"]!["gateway.yaml"]!);
            var file = ConfigFile.Load(config);
            var archive = Mount(container, file.Audit!.Archive!.Dir!);
            Assert.Equal("archive", (string?)archive["name"]);
            Assert.NotEqual(Data(container), file.Audit.Archive.Dir);
            Assert.Equal("/etc/auditgw/tls/tls.crt", file.Admin!.Tls!.CertFile);
        }
        finally
        {
            Directory.Delete(overlay, recursive: true);
            File.Delete(config);
        }
    }

    [Fact]
    public async Task The_redis_component_adds_one_Redis_and_points_every_replica_at_it_with_the_password_from_a_secret()
    {
        var k8s = Path.Combine(RepositoryDirectory(), "k8s");
        var overlay = Directory.CreateTempSubdirectory("auditgw-redis-overlay-").FullName;
        var config = Path.GetTempFileName();
        try
        {
            var relative = Path.GetRelativePath(overlay, k8s).Replace('\\', '/');
            File.WriteAllText(Path.Combine(overlay, "kustomization.yaml"), $"resources: [{relative}]\ncomponents: [{relative}/redis]\n");
            var objects = await KustomizeAsync(overlay);
            var redisService = One(objects, "Service", "redis");
            var redis = One(objects, "StatefulSet", "redis");
            Assert.Equal(1L, (long)redis["spec"]!["replicas"]!);
            var labels = redis["spec"]!["template"]!["metadata"]!["labels"]!;
            Assert.All(redisService["spec"]!["selector"]!.AsObject(), l => Assert.Equal((string?)l.Value, (string?)labels[l.Key]));
            Assert.Contains("--appendonly", redis["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]!.AsArray().Select(a => (string?)a));

            File.WriteAllText(config, (string)One(objects, "ConfigMap")["data"]!["gateway.yaml"]!);
            var file = ConfigFile.Load(config);
            var options = AuditGateway.Redis.RedisOptions.FromUrl(file.Redis!.Connection!);
            Assert.Equal("redis.auditgateway.svc", options.Host);
            Assert.Equal((long)redisService["spec"]!["ports"]![0]!["port"]!, options.Port);
            var gateway = One(objects, "StatefulSet", "auditgateway");
            var container = gateway["spec"]!["template"]!["spec"]!["containers"]![0]!;
            var mount = Mount(container, Path.GetDirectoryName(file.Redis.PasswordFile)!);
            var volume = gateway["spec"]!["template"]!["spec"]!["volumes"]!.AsArray().Single(v => (string?)v!["name"] == (string?)mount["name"])!;
            Assert.Equal("auditgateway-redis", (string?)volume["secret"]!["secretName"]);
            Assert.Equal("/etc/auditgw/tls/tls.crt", file.Admin!.Tls!.CertFile);
        }
        finally
        {
            Directory.Delete(overlay, recursive: true);
            File.Delete(config);
        }
    }
}
