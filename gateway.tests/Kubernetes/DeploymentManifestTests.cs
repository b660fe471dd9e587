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

    private static async Task<List<JsonObject>> KustomizeAsync()
    {
        var start = new ProcessStartInfo(Kubectl.Path, ["kustomize", Path.Combine(RepositoryDirectory(), "k8s")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["HOME"] = Path.GetTempPath();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, "kubectl kustomize k8s/: " + stderr);
        return [.. YamlDocuments.Parse(await stdout).Select(d => d.Root).OfType<JsonObject>()];
    }

    private static JsonObject One(List<JsonObject> objects, string kind, string? name = null) =>
        Assert.Single(objects, o => (string?)o["kind"] == kind && (name is null || (string?)o["metadata"]?["name"] == name));

    [Fact]
    public async Task Kustomize_builds_the_deployment_of_product_section_11()
    {
        var objects = await KustomizeAsync();
        foreach (var kind in (string[])["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ConfigMap", "Deployment", "IngressClass", "ValidatingWebhookConfiguration", "PodDisruptionBudget"])
        {
            One(objects, kind);
        }

        var deployment = One(objects, "Deployment");
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
}
