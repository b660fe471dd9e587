using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Common.FakeApiServer;

namespace AuditGateway.Tests.Kubernetes;

/// <summary>The fake API server, driven by the real kubectl and by raw HTTP list/watch requests.</summary>
public sealed class FakeApiServerTests
{
    private static string IngressYaml(string host, string name = "web") => $"""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: {name}
          namespace: default
        spec:
          ingressClassName: auditgateway
          rules:
          - host: {host}
            http:
              paths:
              - path: /
                pathType: Prefix
                backend:
                  service:
                    name: web
                    port:
                      number: 80
        """;

    private static JsonObject Secret(string name, string type) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Secret",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default" },
        ["type"] = type,
        ["stringData"] = new JsonObject { ["k"] = "v" },
    };

    [Fact]
    public async Task Kubectl_create_get_replace_apply_delete()
    {
        await using var server = await FakeApiServer.StartAsync();

        var created = await Kubectl.RunAsync(server, IngressYaml("a.example.com"), "create", "-f", "-");
        Assert.Contains("ingress.networking.k8s.io/web created", created.EnsureSuccess().Stdout);

        var got = JsonNode.Parse((await Kubectl.RunAsync(server, null, "get", "ingress", "web", "-o", "json", "--show-managed-fields")).EnsureSuccess().Stdout)!;
        Assert.Equal(1, (int)got["metadata"]!["generation"]!);
        Assert.Equal("kubectl-create", (string?)got["metadata"]!["managedFields"]![0]!["manager"]);
        Assert.False(string.IsNullOrEmpty((string?)got["metadata"]!["uid"]));
        var rv1 = (string)got["metadata"]!["resourceVersion"]!;

        (await Kubectl.RunAsync(server, IngressYaml("b.example.com"), "replace", "-f", "-")).EnsureSuccess();
        got = JsonNode.Parse((await Kubectl.RunAsync(server, null, "get", "ingress", "web", "-o", "json")).Stdout)!;
        Assert.Equal(2, (int)got["metadata"]!["generation"]!);
        Assert.Equal("b.example.com", (string?)got["spec"]!["rules"]![0]!["host"]);
        Assert.NotEqual(rv1, (string?)got["metadata"]!["resourceVersion"]);

        // A replace carrying a stale resourceVersion is a conflict.
        var stale = got.DeepClone();
        stale["metadata"]!["resourceVersion"] = rv1;
        var conflict = await Kubectl.RunAsync(server, stale.ToJsonString(), "replace", "-f", "-");
        Assert.NotEqual(0, conflict.ExitCode);
        Assert.Contains("the object has been modified", conflict.Stderr);

        // Client-side apply: GET then a strategic merge PATCH.
        (await Kubectl.RunAsync(server, IngressYaml("c.example.com", "applied"), "apply", "-f", "-")).EnsureSuccess();
        (await Kubectl.RunAsync(server, IngressYaml("d.example.com", "applied"), "apply", "-f", "-")).EnsureSuccess();
        got = JsonNode.Parse((await Kubectl.RunAsync(server, null, "get", "ingress", "applied", "-o", "json")).Stdout)!;
        Assert.Equal("d.example.com", (string?)got["spec"]!["rules"]![0]!["host"]);
        Assert.Equal(2, (int)got["metadata"]!["generation"]!);

        var list = JsonNode.Parse((await Kubectl.RunAsync(server, null, "get", "ingresses", "-o", "json")).EnsureSuccess().Stdout)!;
        Assert.Equal(2, list["items"]!.AsArray().Count);

        Assert.Contains("deleted", (await Kubectl.RunAsync(server, null, "delete", "ingress", "web")).EnsureSuccess().Stdout);
        var missing = await Kubectl.RunAsync(server, null, "get", "ingress", "web", "-o", "json");
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("not found", missing.Stderr);
    }

    [Fact]
    public async Task Admission_webhook_denial_reaches_kubectl_and_audit_events_are_posted()
    {
        var reviews = new ConcurrentQueue<JsonNode>();
        var audit = new ConcurrentQueue<JsonNode>();
        await using var admission = await LoopbackHttpsServer.StartAsync(async ctx =>
        {
            var review = (await JsonNode.ParseAsync(ctx.Request.Body))!;
            reviews.Enqueue(review);
            var request = review["request"]!;
            var host = (string?)request["object"]?["spec"]?["rules"]?[0]?["host"];
            var allowed = host != "bad.example.com";
            await ctx.Response.WriteAsync(new JsonObject
            {
                ["apiVersion"] = "admission.k8s.io/v1",
                ["kind"] = "AdmissionReview",
                ["response"] = new JsonObject
                {
                    ["uid"] = (string?)request["uid"],
                    ["allowed"] = allowed,
                    ["status"] = allowed ? null : new JsonObject { ["code"] = 422, ["message"] = "host bad.example.com is refused" },
                },
            }.ToJsonString());
        });
        await using var auditSink = await LoopbackHttpsServer.StartAsync(async ctx =>
        {
            Assert.Equal("Bearer audit-token", ctx.Request.Headers.Authorization.ToString());
            audit.Enqueue((await JsonNode.ParseAsync(ctx.Request.Body))!);
        });
        await using var server = await FakeApiServer.StartAsync(new FakeApiServerOptions
        {
            AdmissionWebhook = new WebhookTarget(admission.Url, admission.Ca),
            AuditWebhook = new WebhookTarget(auditSink.Url, auditSink.Ca, "audit-token"),
        });

        var denied = await Kubectl.RunAsync(server, IngressYaml("bad.example.com"), "create", "-f", "-");
        Assert.NotEqual(0, denied.ExitCode);
        Assert.Contains("admission webhook \"validate.auditgateway.io\" denied the request: host bad.example.com is refused", denied.Stderr);

        (await Kubectl.RunAsync(server, IngressYaml("good.example.com"), "create", "-f", "-")).EnsureSuccess();
        var review = Assert.Single(reviews, r => (string?)r["request"]!["operation"] == "CREATE" && (string?)r["request"]!["object"]!["spec"]!["rules"]![0]!["host"] == "good.example.com");
        Assert.Equal("kubernetes-admin", (string?)review["request"]!["userInfo"]!["username"]);
        Assert.Equal("ingresses", (string?)review["request"]!["resource"]!["resource"]);
        Assert.Equal("default", (string?)review["request"]!["namespace"]);

        (await Kubectl.RunAsync(server, null, "delete", "ingress", "web")).EnsureSuccess();
        Assert.Contains(reviews, r => (string?)r["request"]!["operation"] == "DELETE" && r["request"]!["oldObject"] is JsonObject);

        await Eventually.TrueAsync(() => audit.SelectMany(l => l["items"]!.AsArray()).Any(e =>
            (string?)e!["verb"] == "create" && (string?)e["stage"] == "ResponseComplete" && (int?)e["responseStatus"]!["code"] == 201));
        var events = audit.SelectMany(l => l["items"]!.AsArray()).ToList();
        var create = events.First(e => (string?)e!["verb"] == "create" && (int?)e!["responseStatus"]?["code"] == 201)!;
        Assert.Equal("audit.k8s.io/v1", (string?)create["apiVersion"]);
        Assert.Equal("web", (string?)create["objectRef"]!["name"]);
        Assert.Equal("networking.k8s.io", (string?)create["objectRef"]!["apiGroup"]);
        Assert.NotNull(create["objectRef"]!["resourceVersion"]);
        Assert.NotNull(create["requestObject"]);
        Assert.NotNull(create["responseObject"]);
        Assert.StartsWith("kubectl/", (string?)create["userAgent"]);
        Assert.Contains(events, e => (string?)e!["auditID"] == (string?)create["auditID"] && (string?)e!["stage"] == "RequestReceived");
        Assert.Contains(events, e => (int?)e!["responseStatus"]?["code"] == 422);
    }

    [Fact]
    public async Task Raw_list_pages_selects_and_answers_410_for_a_compacted_rv()
    {
        await using var server = await FakeApiServer.StartAsync();
        using var http = server.CreateHttpClient();
        for (var i = 0; i < 5; i++)
        {
            server.Seed(Secret($"s{i}", i % 2 == 0 ? "kubernetes.io/tls" : "Opaque"));
        }

        var first = await GetJsonAsync(http, "/api/v1/secrets?limit=2");
        Assert.Equal(2, first["items"]!.AsArray().Count);
        Assert.Null(first["items"]![0]!["kind"]);
        Assert.Equal(3, (int)first["metadata"]!["remainingItemCount"]!);
        var rv = (string)first["metadata"]!["resourceVersion"]!;
        server.Seed(Secret("late", "Opaque"));
        var second = await GetJsonAsync(http, $"/api/v1/secrets?limit=2&continue={Uri.EscapeDataString((string)first["metadata"]!["continue"]!)}");
        Assert.Equal(rv, (string?)second["metadata"]!["resourceVersion"]);
        Assert.Equal(["s2", "s3"], second["items"]!.AsArray().Select(i => (string)i!["metadata"]!["name"]!));

        var tls = await GetJsonAsync(http, "/api/v1/namespaces/default/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls");
        Assert.Equal(["s0", "s2", "s4"], tls["items"]!.AsArray().Select(i => (string)i!["metadata"]!["name"]!));
        Assert.Equal("dg==", (string?)tls["items"]![0]!["data"]!["k"]);

        server.Faults.CompactHistory();
        using var gone = await http.GetAsync(new Uri($"/api/v1/secrets?limit=2&resourceVersion={rv}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Gone, gone.StatusCode);
        var status = JsonNode.Parse(await gone.Content.ReadAsStringAsync())!;
        Assert.Equal("Expired", (string?)status["reason"]);

        server.Faults.FailRequests(2);
        using var fail1 = await http.GetAsync(new Uri("/api/v1/secrets", UriKind.Relative));
        using var fail2 = await http.GetAsync(new Uri("/api/v1/secrets", UriKind.Relative));
        using var ok = await http.GetAsync(new Uri("/api/v1/secrets", UriKind.Relative));
        Assert.Equal([HttpStatusCode.InternalServerError, HttpStatusCode.InternalServerError, HttpStatusCode.OK], [fail1.StatusCode, fail2.StatusCode, ok.StatusCode]);

        using var anonymous = WebhookHttp.Create(new WebhookTarget(server.Url, server.CaCertificate));
        using var unauthorized = await anonymous.GetAsync(new Uri(server.Url, "/api/v1/secrets"));
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
    }

    [Fact]
    public async Task Raw_watch_streams_events_bookmarks_and_in_stream_410()
    {
        await using var server = await FakeApiServer.StartAsync();
        using var http = server.CreateHttpClient();
        server.Seed(Secret("a", "Opaque"));
        var rv = server.ResourceVersion;

        using var watch = await WatchLinesAsync(http, $"/api/v1/namespaces/default/secrets?watch=1&resourceVersion={rv}&allowWatchBookmarks=true");
        Assert.Equal(1, server.WatchCount); // registered before the headers came: the bookmark below cannot miss it
        server.Seed(Secret("b", "Opaque"));
        server.Seed(Secret("b", "kubernetes.io/tls"));
        server.Remove("Secret", "default", "a");
        server.Faults.SendBookmarks();
        var types = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var e = JsonNode.Parse((await watch.NextAsync())!)!;
            types.Add((string)e["type"]!);
            if ((string?)e["type"] == "BOOKMARK")
            {
                Assert.Equal(server.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)e["object"]!["metadata"]!["resourceVersion"]);
            }
        }

        Assert.Equal(["ADDED", "MODIFIED", "DELETED", "BOOKMARK"], types);

        // Resuming from an RV the history no longer holds: 200, one ERROR event, end of stream.
        server.Faults.CompactHistory();
        using var expired = await WatchLinesAsync(http, $"/api/v1/secrets?watch=1&resourceVersion={rv}");
        var error = JsonNode.Parse((await expired.NextAsync())!)!;
        Assert.Equal("ERROR", (string?)error["type"]);
        Assert.Equal(410, (int?)error["object"]!["code"]);
        Assert.Equal("Expired", (string?)error["object"]!["reason"]);
        Assert.Null(await expired.NextAsync());

        server.Faults.ExpireNextWatches(1);
        using var injected = await WatchLinesAsync(http, $"/api/v1/secrets?watch=1&resourceVersion={server.ResourceVersion}");
        Assert.Contains("\"code\":410", await injected.NextAsync());

        // Dropping watches ends open streams.
        watch.Dispose();
        await Eventually.TrueAsync(() => server.WatchCount == 0);
        using var open = await WatchLinesAsync(http, $"/api/v1/secrets?watch=1&resourceVersion={server.ResourceVersion}");
        await Eventually.TrueAsync(() => server.WatchCount == 1);
        server.Faults.DropWatches();
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            if (await open.NextAsync() is null)
            {
                throw new EndOfStreamException();
            }
        });
    }

    private static async Task<JsonNode> GetJsonAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    private static async Task<WatchStream> WatchLinesAsync(HttpClient http, string path)
    {
        var response = await http.GetAsync(new Uri(path, UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return new WatchStream(response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    private sealed record WatchStream(HttpResponseMessage Response, StreamReader Reader) : IDisposable
    {
        public async Task<string?> NextAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            return await Reader.ReadLineAsync(timeout.Token);
        }

        public void Dispose()
        {
            Reader.Dispose();
            Response.Dispose();
        }
    }
}
