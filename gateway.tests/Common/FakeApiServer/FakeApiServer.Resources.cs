using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AuditGateway.Tests.Common.FakeApiServer;

internal sealed partial class FakeApiServer
{
    private async Task HandleResourceAsync(HttpContext ctx, FakeUser user, Target target, CancellationToken ct)
    {
        var query = ctx.Request.Query;
        var method = ctx.Request.Method;
        var isWatch = query["watch"] is ["1" or "true"];
        var verb = (method, target.Name) switch
        {
            ("GET", null) => isWatch ? "watch" : "list",
            ("GET", _) => "get",
            ("POST", null) => "create",
            ("PUT", not null) => "update",
            ("PATCH", not null) => "patch",
            ("DELETE", not null) => "delete",
            _ => null,
        };
        if (verb is null)
        {
            await WriteJsonAsync(ctx, 405, ApiError.Status(405, "MethodNotAllowed", $"the server does not allow this method on the requested resource"));
            return;
        }

        JsonNode? requestBody = null;
        if (method is "POST" or "PUT" or "PATCH" or "DELETE" && ctx.Request.ContentLength != 0)
        {
            try
            {
                requestBody = await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ct);
            }
            catch (JsonException e)
            {
                await WriteJsonAsync(ctx, 400, ApiError.Status(400, "BadRequest", $"the request body is not JSON: {e.Message}"));
                return;
            }
        }

        var audit = _audit is null ? null : new AuditRecord(ctx, user, verb, target, requestBody, _options.Time.GetUtcNow());
        audit?.Emit(_audit!, "RequestReceived", _options.AuditLevel, null, null);

        int code;
        JsonNode? response;
        if (isWatch && verb == "watch")
        {
            code = 200;
            response = null;
            await WatchAsync(ctx, target, ct);
        }
        else
        {
            try
            {
                (code, response) = await ServeAsync(ctx, user, target, verb, requestBody, ct);
            }
            catch (ApiError e)
            {
                (code, response) = (e.Code, e.ToStatus());
            }

            await WriteJsonAsync(ctx, code, response);
        }

        audit?.Emit(_audit!, "ResponseComplete", _options.AuditLevel, code, response as JsonObject);
    }

    private async Task<(int Code, JsonNode Body)> ServeAsync(
        HttpContext ctx, FakeUser user, Target t, string verb, JsonNode? body, CancellationToken ct)
    {
        var r = t.Resource;
        var ns = r.Namespaced ? t.Namespace : "";
        var manager = ctx.Request.Query["fieldManager"].ToString() is { Length: > 0 } fm
            ? fm
            : ctx.Request.Headers.UserAgent.ToString().Split('/', ' ')[0];
        switch (verb)
        {
            case "list":
            {
                var q = ctx.Request.Query;
                var limit = int.TryParse(q["limit"], CultureInfo.InvariantCulture, out var l) ? l : 0;
                var page = _store.List(r, t.Namespace, Selector.ParseFields(q["fieldSelector"]), Selector.ParseLabels(q["labelSelector"]),
                    limit, q["continue"], q["resourceVersion"]);
                var items = new JsonArray();
                foreach (var item in page.Items)
                {
                    // As the real server does for typed lists: items carry no kind/apiVersion.
                    item.Remove("kind");
                    item.Remove("apiVersion");
                    items.Add(item);
                }

                var meta = new JsonObject { ["resourceVersion"] = page.ResourceVersion.ToString(CultureInfo.InvariantCulture) };
                if (page.Continue is not null)
                {
                    meta["continue"] = page.Continue;
                    meta["remainingItemCount"] = page.Remaining;
                }

                return (200, new JsonObject { ["kind"] = r.Kind + "List", ["apiVersion"] = r.GroupVersion, ["metadata"] = meta, ["items"] = items });
            }

            case "get":
                return (200, _store.Get(new StoreKey(r, ns!, t.Name!)) ?? throw ApiError.NotFound(r, t.Name!));

            case "create":
            {
                if (ns is null)
                {
                    throw ApiError.BadRequest("the namespace of the request is missing");
                }

                var obj = body as JsonObject ?? throw ApiError.BadRequest("the request body must be an object");
                var prepared = PrepareCreate(r, ns, obj, manager);
                var name = (string)prepared["metadata"]!["name"]!;
                if (_store.Get(new StoreKey(r, ns, name)) is not null)
                {
                    throw ApiError.AlreadyExists(r, name);
                }

                await AdmitAsync(r, "CREATE", ns, name, user, prepared, null, ct);
                return (201, _store.Write(new StoreKey(r, ns, name), prepared, false, null));
            }

            case "update":
            {
                var obj = body as JsonObject ?? throw ApiError.BadRequest("the request body must be an object");
                return (200, await UpdateAsync(r, ns!, t.Name!, obj, (string?)obj["metadata"]?["resourceVersion"], manager, t.Subresource, user, ct));
            }

            case "patch":
            {
                var key = new StoreKey(r, ns!, t.Name!);
                var existing = _store.Get(key) ?? throw ApiError.NotFound(r, t.Name!);
                var contentType = ctx.Request.ContentType ?? "";
                if (!contentType.StartsWith("application/merge-patch+json", StringComparison.Ordinal)
                    && !contentType.StartsWith("application/strategic-merge-patch+json", StringComparison.Ordinal))
                {
                    throw new ApiError(415, "UnsupportedMediaType", $"the fake server does not support patch type {contentType}");
                }

                var strategic = contentType.StartsWith("application/strategic", StringComparison.Ordinal);
                var merged = (JsonObject)MergePatch(existing, body, strategic)!;
                return (200, await UpdateAsync(r, ns!, t.Name!, merged, (string?)body?["metadata"]?["resourceVersion"], manager, t.Subresource, user, ct));
            }

            default:
            {
                var key = new StoreKey(r, ns!, t.Name!);
                var existing = _store.Get(key) ?? throw ApiError.NotFound(r, t.Name!);
                await AdmitAsync(r, "DELETE", ns!, t.Name!, user, null, existing, ct);
                return (200, _store.Write(key, null, true, (string?)body?["preconditions"]?["resourceVersion"]));
            }
        }
    }

    private async Task<JsonObject> UpdateAsync(
        ApiResource r, string ns, string name, JsonObject obj, string? expectedRv, string manager, string? subresource, FakeUser user, CancellationToken ct)
    {
        if ((string?)obj["metadata"]?["name"] is { } bodyName && bodyName != name)
        {
            throw ApiError.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({name})");
        }

        var key = new StoreKey(r, ns, name);
        var existing = _store.Get(key) ?? throw ApiError.NotFound(r, name);
        var next = Replace(r, existing, obj, manager, subresource);
        if (Unchanged(existing, next))
        {
            if (!string.IsNullOrEmpty(expectedRv) && expectedRv != (string?)existing["metadata"]!["resourceVersion"])
            {
                throw ApiError.Conflict(r, name);
            }

            return existing;
        }

        if (subresource is null)
        {
            await AdmitAsync(r, "UPDATE", ns, name, user, next, existing, ct);
        }

        return _store.Write(key, next, true, expectedRv);
    }

    private async Task AdmitAsync(ApiResource r, string operation, string ns, string name, FakeUser user, JsonObject? obj, JsonObject? old, CancellationToken ct)
    {
        if (_admission is not null && r == ApiResources.Ingresses)
        {
            await _admission.CheckAsync(r, operation, ns, name, user, obj, old, ct);
        }
    }

    /// <summary>Fills what the API server sets on create: namespace, uid, timestamps, generation, managedFields.</summary>
    private JsonObject PrepareCreate(ApiResource r, string ns, JsonObject body, string manager)
    {
        var obj = (JsonObject)body.DeepClone();
        if ((string?)obj["kind"] is { } kind && kind != r.Kind || (string?)obj["apiVersion"] is { } av && av != r.GroupVersion)
        {
            throw ApiError.BadRequest($"the object is a {obj["apiVersion"]}/{obj["kind"]}, not a {r.GroupVersion}/{r.Kind}");
        }

        obj["kind"] = r.Kind;
        obj["apiVersion"] = r.GroupVersion;
        if (obj["metadata"] is not JsonObject meta)
        {
            obj["metadata"] = meta = [];
        }

        if (string.IsNullOrEmpty((string?)meta["name"]))
        {
            meta["name"] = (string?)meta["generateName"] is { Length: > 0 } prefix
                ? prefix + Guid.NewGuid().ToString("N")[..5]
                : throw ApiError.BadRequest("resource name may not be empty");
        }

        if (r.Namespaced)
        {
            if ((string?)meta["namespace"] is { Length: > 0 } bodyNs && bodyNs != ns)
            {
                throw ApiError.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
            }

            meta["namespace"] = ns;
        }
        else
        {
            meta.Remove("namespace");
        }

        var now = _options.Time.GetUtcNow();
        meta.Remove("resourceVersion");
        meta["uid"] = Guid.NewGuid().ToString();
        meta["creationTimestamp"] = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        meta["generation"] = 1;
        meta["managedFields"] = new JsonArray(ManagedEntry(r, manager, null, now));
        if (r.HasStatus)
        {
            obj.Remove("status");
        }

        FoldStringData(r, obj);
        return obj;
    }

    /// <summary>The object a PUT (or a patch, once merged) stores: server-owned fields kept, generation bumped on change.</summary>
    private JsonObject Replace(ApiResource r, JsonObject existing, JsonObject body, string manager, string? subresource)
    {
        JsonObject next;
        if (subresource == "status")
        {
            next = (JsonObject)existing.DeepClone();
            next["status"] = body["status"]?.DeepClone();
        }
        else
        {
            next = (JsonObject)body.DeepClone();
            next["kind"] = r.Kind;
            next["apiVersion"] = r.GroupVersion;
            if (next["metadata"] is not JsonObject fresh)
            {
                next["metadata"] = fresh = [];
            }

            var old = (JsonObject)existing["metadata"]!;
            foreach (var field in new[] { "name", "namespace", "uid", "creationTimestamp", "generation", "resourceVersion" })
            {
                fresh[field] = old[field]?.DeepClone();
            }

            if (r.HasStatus)
            {
                next["status"] = existing["status"]?.DeepClone();
            }

            FoldStringData(r, next);
            if (!JsonNode.DeepEquals(WithoutMetadata(existing), WithoutMetadata(next)))
            {
                fresh["generation"] = long.Parse(old["generation"]?.ToJsonString() ?? "0", CultureInfo.InvariantCulture) + 1;
            }
        }

        var meta = (JsonObject)next["metadata"]!;
        var entries = (meta["managedFields"] as JsonArray)?.DeepClone() as JsonArray ?? (existing["metadata"]!["managedFields"]?.DeepClone() as JsonArray) ?? [];
        for (var i = entries.Count - 1; i >= 0; i--)
        {
            if ((string?)entries[i]?["manager"] == manager && (string?)entries[i]?["subresource"] == subresource)
            {
                entries.RemoveAt(i);
            }
        }

        entries.Add(ManagedEntry(r, manager, subresource, _options.Time.GetUtcNow()));
        meta["managedFields"] = entries;
        return next;
    }

    private static JsonObject WithoutMetadata(JsonObject obj)
    {
        var copy = (JsonObject)obj.DeepClone();
        copy.Remove("metadata");
        copy.Remove("status");
        return copy;
    }

    /// <summary>True when an update would change nothing but managedFields (the server then keeps the RV).</summary>
    private static bool Unchanged(JsonObject existing, JsonObject next)
    {
        static JsonObject Strip(JsonObject o)
        {
            var copy = (JsonObject)o.DeepClone();
            var meta = (JsonObject)copy["metadata"]!;
            meta.Remove("managedFields");
            meta.Remove("resourceVersion");
            return copy;
        }

        return JsonNode.DeepEquals(Strip(existing), Strip(next));
    }

    private static JsonObject ManagedEntry(ApiResource r, string manager, string? subresource, DateTimeOffset now)
    {
        var entry = new JsonObject
        {
            ["manager"] = manager,
            ["operation"] = "Update",
            ["apiVersion"] = r.GroupVersion,
            ["time"] = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["fieldsType"] = "FieldsV1",
            ["fieldsV1"] = new JsonObject(),
        };
        if (subresource is not null)
        {
            entry["subresource"] = subresource;
        }

        return entry;
    }

    private static void FoldStringData(ApiResource r, JsonObject obj)
    {
        if (r != ApiResources.Secrets || obj["stringData"] is not JsonObject plain)
        {
            return;
        }

        if (obj["data"] is not JsonObject data)
        {
            obj["data"] = data = [];
        }

        foreach (var (k, v) in plain)
        {
            data[k] = Convert.ToBase64String(Encoding.UTF8.GetBytes((string?)v ?? ""));
        }

        obj.Remove("stringData");
    }

    /// <summary>
    /// RFC 7386 merge patch. For a strategic merge patch the <c>$</c> directives are dropped and
    /// lists are replaced whole, which is right for lists without a merge key (Ingress rules, TLS).
    /// </summary>
    internal static JsonNode? MergePatch(JsonNode? target, JsonNode? patch, bool strategic)
    {
        if (patch is not JsonObject p)
        {
            return patch?.DeepClone();
        }

        var result = target is JsonObject t ? (JsonObject)t.DeepClone() : [];
        foreach (var (k, v) in p)
        {
            if (strategic && k.StartsWith('$'))
            {
                continue;
            }

            if (v is null)
            {
                result.Remove(k);
            }
            else
            {
                result[k] = MergePatch(result[k], v, strategic);
            }
        }

        return result;
    }

    private async Task WatchAsync(HttpContext ctx, Target t, CancellationToken ct)
    {
        var q = ctx.Request.Query;
        var rv = q["resourceVersion"].ToString();
        using var watcher = new Watcher(t.Resource, t.Namespace, Selector.ParseFields(q["fieldSelector"]), Selector.ParseLabels(q["labelSelector"]),
            q["allowWatchBookmarks"] is ["1" or "true"]);
        // As the apiserver does, the watch is registered before the response starts: a client that has
        // the headers sees every event (and bookmark) from then on.
        string? error;
        if (Faults.ShouldExpireWatch())
        {
            var from = long.TryParse(rv, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
            error = ResourceStore.EventLine("ERROR", ApiError.Status(410, "Expired", _store.TooOld(from)));
        }
        else
        {
            try
            {
                error = _store.StartWatch(watcher, rv) is { } expired
                    ? ResourceStore.EventLine("ERROR", ApiError.Status(410, "Expired", expired))
                    : null;
            }
            catch (ApiError e)
            {
                error = ResourceStore.EventLine("ERROR", e.ToStatus());
            }
        }

        try
        {
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.StartAsync(ct);
            await ctx.Response.Body.FlushAsync(ct);
            if (error is not null)
            {
                await ctx.Response.WriteAsync(error, ct);
                return;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopping.Token);
            if (int.TryParse(q["timeoutSeconds"], CultureInfo.InvariantCulture, out var seconds) && seconds > 0)
            {
                timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
            }

            using var dropped = watcher.Dropped.Register(ctx.Abort);
            var reader = watcher.Lines.Reader;
            while (await reader.WaitToReadAsync(timeout.Token))
            {
                while (reader.TryRead(out var line))
                {
                    await ctx.Response.WriteAsync(line, timeout.Token);
                }

                await ctx.Response.Body.FlushAsync(timeout.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // Timeout, client gone, or the server stopping: the stream just ends.
        }
        finally
        {
            // A watch that never started (an error line instead) is not in the store; removing it is a no-op.
            _store.StopWatch(watcher);
        }
    }

    /// <summary>One request's audit attributes; emits an audit.k8s.io/v1 Event per stage.</summary>
    private sealed class AuditRecord(HttpContext ctx, FakeUser user, string verb, Target target, JsonNode? requestBody, DateTimeOffset received)
    {
        private readonly string _id = Guid.NewGuid().ToString();
        private readonly string _uri = ctx.Request.Path + ctx.Request.QueryString;
        private readonly string _userAgent = ctx.Request.Headers.UserAgent.ToString();
        private readonly string _sourceIp = ctx.Connection.RemoteIpAddress?.ToString() ?? "";

        public void Emit(AuditEmitter emitter, string stage, string level, int? code, JsonObject? response)
        {
            var objectRef = new JsonObject { ["resource"] = target.Resource.Plural };
            var ns = target.Namespace ?? (string?)requestBody?["metadata"]?["namespace"];
            var name = target.Name ?? (verb == "create" ? (string?)requestBody?["metadata"]?["name"] : null);
            if (ns is not null && target.Resource.Namespaced)
            {
                objectRef["namespace"] = ns;
            }

            if (name is not null)
            {
                objectRef["name"] = name;
            }

            if (target.Resource.Group.Length > 0)
            {
                objectRef["apiGroup"] = target.Resource.Group;
            }

            objectRef["apiVersion"] = target.Resource.Version;
            var rv = (string?)requestBody?["metadata"]?["resourceVersion"] ?? (verb is "create" or "update" or "patch" or "delete" or "get"
                ? (string?)response?["metadata"]?["resourceVersion"] : null);
            if (rv is not null)
            {
                objectRef["resourceVersion"] = rv;
            }

            if (target.Subresource is not null)
            {
                objectRef["subresource"] = target.Subresource;
            }

            var e = new JsonObject
            {
                ["kind"] = "Event",
                ["apiVersion"] = "audit.k8s.io/v1",
                ["level"] = level,
                ["auditID"] = _id,
                ["stage"] = stage,
                ["requestURI"] = _uri,
                ["verb"] = verb,
                ["user"] = new JsonObject { ["username"] = user.Username, ["groups"] = new JsonArray([.. user.Groups.Select(g => (JsonNode)g)]) },
                ["sourceIPs"] = new JsonArray(_sourceIp),
                ["userAgent"] = _userAgent,
                ["objectRef"] = objectRef,
            };
            if (code is { } c)
            {
                e["responseStatus"] = response is { } s && (string?)s["kind"] == "Status"
                    ? (JsonObject)s.DeepClone()
                    : new JsonObject { ["metadata"] = new JsonObject(), ["code"] = c };
            }

            if (level is "Request" or "RequestResponse" && requestBody is not null)
            {
                e["requestObject"] = requestBody.DeepClone();
            }

            if (level == "RequestResponse" && response is not null && code is not null)
            {
                e["responseObject"] = response.DeepClone();
            }

            var micro = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";
            e["requestReceivedTimestamp"] = received.UtcDateTime.ToString(micro, CultureInfo.InvariantCulture);
            e["stageTimestamp"] = DateTime.UtcNow.ToString(micro, CultureInfo.InvariantCulture);
            e["annotations"] = new JsonObject { ["authorization.k8s.io/decision"] = "allow", ["authorization.k8s.io/reason"] = "" };
            emitter.Emit(e);
        }
    }
}
