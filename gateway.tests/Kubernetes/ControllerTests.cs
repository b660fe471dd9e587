using System.Text.Json.Nodes;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Kubernetes;

/// <summary>
/// Cluster mode end to end: the real kubectl against the fake API server, a cluster-mode gateway
/// in-process whose admin listener (HTTPS) is the admission and audit webhook.
/// </summary>
public sealed class ControllerTests
{
    private static string Shop(string path, string service = "web") =>
        Manifests.Ingress("shop", [new HostRule("shop.test", new PathRule(path, "Prefix", service, 80))]).Trim();

    [Fact]
    public async Task Create_replace_delete_serve_and_are_attributed_to_the_kubectl_user()
    {
        await using var cluster = await ClusterGateway.StartAsync(["web"]);
        var gateway = cluster.Gateway;

        (await cluster.KubectlAsync(ClusterGateway.ListOf(cluster.ServiceFor("web"), Shop("/v1")), "create", "-f", "-")).EnsureSuccess();
        await gateway.WaitForRouteAsync("default/shop:shop.test/v1:Prefix");
        Assert.Equal("web", await cluster.ServedByAsync("http://shop.test/v1/items"));

        var created = gateway.LastConfigEntry("Ingress", "shop")!;
        Assert.Equal("create", (string?)created["operation"]);
        Assert.Equal("kubernetes-admin", (string?)created["actor"]!["username"]);
        Assert.Equal("kubectl", (string?)created["source"]);
        Assert.Contains("default/shop:shop.test/v1:Prefix", created["effect"]!["added"]!.AsArray().Select(n => (string?)n));

        (await cluster.KubectlAsync(Shop("/v2"), "replace", "-f", "-")).EnsureSuccess();
        await gateway.WaitForRouteAsync("default/shop:shop.test/v2:Prefix");
        Assert.Equal("web", await cluster.ServedByAsync("http://shop.test/v2/items"));
        Assert.Equal("404", await cluster.ServedByAsync("http://shop.test/v1/items"));

        var replaced = gateway.LastConfigEntry("Ingress", "shop")!;
        Assert.Equal("update", (string?)replaced["operation"]);
        Assert.Equal("kubernetes-admin", (string?)replaced["actor"]!["username"]);
        Assert.Contains("system:masters", replaced["actor"]!["groups"]!.AsArray().Select(n => (string?)n));
        Assert.Equal("kubectl", (string?)replaced["source"]);
        Assert.Contains((string?)replaced["actor"]!["via"], new[] { "admission", "audit-webhook" });
        var diff = replaced["diff"]!.AsArray();
        Assert.Contains(diff, op => (string?)op!["op"] == "replace" && (string?)op["path"] == "/spec/rules/0/http/paths/0/path" && (string?)op["value"] == "/v2");
        Assert.Contains("default/shop:shop.test/v2:Prefix", replaced["effect"]!["added"]!.AsArray().Select(n => (string?)n));
        Assert.Contains("default/shop:shop.test/v1:Prefix", replaced["effect"]!["removed"]!.AsArray().Select(n => (string?)n));

        (await cluster.KubectlAsync(null, "delete", "ingress", "shop")).EnsureSuccess();
        await gateway.WaitForAsync(t => t.Routes.Count == 0);
        Assert.Equal("404", await cluster.ServedByAsync("http://shop.test/v2/items"));
        var deleted = gateway.LastConfigEntry("Ingress", "shop")!;
        Assert.Equal("delete", (string?)deleted["operation"]);
        Assert.Equal("kubernetes-admin", (string?)deleted["actor"]!["username"]);
        Assert.Contains("default/shop:shop.test/v2:Prefix", deleted["effect"]!["removed"]!.AsArray().Select(n => (string?)n));
    }

    [Fact]
    public async Task An_invalid_ingress_is_rejected_at_kubectl_time_with_the_field_named()
    {
        await using var cluster = await ClusterGateway.StartAsync(["web"]);
        var gateway = cluster.Gateway;
        (await cluster.KubectlAsync(ClusterGateway.ListOf(cluster.ServiceFor("web"), Shop("/v1")), "create", "-f", "-")).EnsureSuccess();
        await gateway.WaitForRouteAsync("default/shop:shop.test/v1:Prefix");
        var entries = gateway.ConfigEntries().Count;
        var revision = gateway.Table.Revision;

        var bad = Shop("/v1").Replace("\"Prefix\"", "\"Regex\"", StringComparison.Ordinal);
        var result = await cluster.KubectlAsync(bad, "replace", "-f", "-");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("spec.rules[0].http.paths[0].pathType", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("denied the request", result.Stderr, StringComparison.Ordinal);

        var created = await cluster.KubectlAsync(bad.Replace("\"shop\"", "\"other\"", StringComparison.Ordinal), "create", "-f", "-");
        Assert.NotEqual(0, created.ExitCode);
        Assert.Contains("pathType", created.Stderr, StringComparison.Ordinal);

        // Nothing changed: the object in the API server, the table, the log.
        var stored = JsonNode.Parse((await cluster.KubectlAsync(null, "get", "ingress", "shop", "-o", "json")).EnsureSuccess().Stdout)!;
        Assert.Equal("Prefix", (string?)stored["spec"]!["rules"]![0]!["http"]!["paths"]![0]!["pathType"]);
        Assert.NotEqual(0, (await cluster.KubectlAsync(null, "get", "ingress", "other")).ExitCode);
        Assert.Equal(revision, gateway.Table.Revision);
        Assert.Equal(entries, gateway.ConfigEntries().Count);

        // An Ingress of another class is none of our business.
        var foreign = bad.Replace("\"shop\"", "\"foreign\"", StringComparison.Ordinal).Replace("\"auditgateway\"", "\"nginx\"", StringComparison.Ordinal);
        (await cluster.KubectlAsync(foreign, "create", "-f", "-")).EnsureSuccess();
    }

    [Fact]
    public async Task Without_admission_the_audit_webhook_names_user_agent_and_source_ip()
    {
        await using var cluster = await ClusterGateway.StartAsync(["web"], admission: false);
        (await cluster.KubectlAsync(ClusterGateway.ListOf(cluster.ServiceFor("web"), Shop("/v1")), "create", "-f", "-")).EnsureSuccess();
        await cluster.Gateway.WaitForRouteAsync("default/shop:shop.test/v1:Prefix");
        (await cluster.KubectlAsync(Shop("/v2"), "replace", "-f", "-")).EnsureSuccess();
        await cluster.Gateway.WaitForRouteAsync("default/shop:shop.test/v2:Prefix");

        var replaced = cluster.Gateway.LastConfigEntry("Ingress", "shop")!;
        Assert.Equal("audit-webhook", (string?)replaced["actor"]!["via"]);
        Assert.Equal("kubernetes-admin", (string?)replaced["actor"]!["username"]);
        Assert.StartsWith("kubectl/", (string?)replaced["actor"]!["userAgent"], StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", replaced["actor"]!["sourceIps"]!.AsArray().Select(n => (string?)n));
        Assert.Equal("kubectl", (string?)replaced["source"]);
        var service = cluster.Gateway.LastConfigEntry("Service", "web")!;
        Assert.Equal("kubernetes-admin", (string?)service["actor"]!["username"]);
    }

    [Fact]
    public async Task Without_webhooks_managed_fields_name_the_manager()
    {
        await using var cluster = await ClusterGateway.StartAsync(["web"], admission: false, audit: false);
        (await cluster.KubectlAsync(ClusterGateway.ListOf(cluster.ServiceFor("web"), Shop("/v1")), "create", "-f", "-")).EnsureSuccess();
        await cluster.Gateway.WaitForRouteAsync("default/shop:shop.test/v1:Prefix");
        (await cluster.KubectlAsync(Shop("/v2"), "replace", "-f", "-")).EnsureSuccess();
        await cluster.Gateway.WaitForRouteAsync("default/shop:shop.test/v2:Prefix");

        var replaced = cluster.Gateway.LastConfigEntry("Ingress", "shop")!;
        Assert.Equal("managed-fields", (string?)replaced["actor"]!["via"]);
        Assert.StartsWith("kubectl", (string?)replaced["actor"]!["username"], StringComparison.Ordinal);
        Assert.Equal("kubectl", (string?)replaced["source"]);
    }

    [Fact]
    public async Task The_audit_webhook_needs_its_token_and_the_admin_listener_is_https()
    {
        await using var cluster = await ClusterGateway.StartAsync([], admission: false);
        using var client = cluster.AdminClient();
        using var empty = new StringContent("{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[]}", System.Text.Encoding.UTF8, "application/json");
        using (var anonymous = await client.PostAsync(cluster.AdminUri("/k8s/audit"), empty))
        {
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, cluster.AdminUri("/k8s/audit")) { Content = empty };
        request.Headers.Authorization = new("Bearer", cluster.Gateway.AdminToken);
        using (var wrongToken = await client.SendAsync(request))
        {
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, wrongToken.StatusCode); // admin tokens do not open it once a webhook token is set
        }

        using var garbage = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        using var review = await client.PostAsync(cluster.AdminUri("/k8s/admission"), garbage);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, review.StatusCode); // reached without a token; the body is not a review
        using var ready = await client.GetAsync(cluster.AdminUri("/readyz"));
        Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
    }
}
