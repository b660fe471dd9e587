using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace AuditGateway.Tests.Common.FakeApiServer;

internal static class WebhookHttp
{
    /// <summary>An HttpClient that trusts only <see cref="WebhookTarget.Ca"/> when one is given.</summary>
    public static HttpClient Create(WebhookTarget target)
    {
        var handler = new SocketsHttpHandler();
        if (target.Ca is { } ca)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
            {
                if (cert is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(X509CertificateLoader.LoadCertificate(cert.GetRawCertData()));
            };
        }

        var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        if (target.BearerToken is { } token)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }
}

/// <summary>Calls the ValidatingAdmissionWebhook with an admission.k8s.io/v1 AdmissionReview (failure policy Fail).</summary>
internal sealed class AdmissionCaller(WebhookTarget target, string webhookName) : IDisposable
{
    private readonly HttpClient _http = WebhookHttp.Create(target);

    public async Task CheckAsync(
        ApiResource r, string operation, string ns, string name, FakeUser user, JsonObject? obj, JsonObject? oldObj, CancellationToken cancellationToken)
    {
        var uid = Guid.NewGuid().ToString();
        var kind = new JsonObject { ["group"] = r.Group, ["version"] = r.Version, ["kind"] = r.Kind };
        var resource = new JsonObject { ["group"] = r.Group, ["version"] = r.Version, ["resource"] = r.Plural };
        var review = new JsonObject
        {
            ["apiVersion"] = "admission.k8s.io/v1",
            ["kind"] = "AdmissionReview",
            ["request"] = new JsonObject
            {
                ["uid"] = uid,
                ["kind"] = kind,
                ["resource"] = resource,
                ["requestKind"] = kind.DeepClone(),
                ["requestResource"] = resource.DeepClone(),
                ["name"] = name,
                ["namespace"] = ns,
                ["operation"] = operation,
                ["userInfo"] = new JsonObject
                {
                    ["username"] = user.Username,
                    ["groups"] = new JsonArray([.. user.Groups.Select(g => (JsonNode)g)]),
                },
                ["object"] = obj?.DeepClone(),
                ["oldObject"] = oldObj?.DeepClone(),
                ["dryRun"] = false,
            },
        };

        JsonNode? answer;
        try
        {
            using var content = new StringContent(review.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
            using var response = await _http.PostAsync(target.Url, content, cancellationToken);
            response.EnsureSuccessStatusCode();
            answer = await response.Content.ReadFromJsonAsync<JsonNode>(cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
        {
            throw new ApiError(500, "InternalError", $"Internal error occurred: failed calling webhook \"{webhookName}\": {e.Message}");
        }

        var result = answer?["response"];
        if ((string?)result?["uid"] != uid)
        {
            throw new ApiError(500, "InternalError", $"Internal error occurred: failed calling webhook \"{webhookName}\": expected response.uid=\"{uid}\"");
        }

        if (result?["allowed"]?.GetValue<bool>() != true)
        {
            var status = result?["status"];
            var code = (int?)status?["code"] ?? 403;
            var message = (string?)status?["message"] ?? "";
            throw new ApiError(code, (string?)status?["reason"] ?? "", $"admission webhook \"{webhookName}\" denied the request: {message}");
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>Sends audit events to the audit webhook as EventLists, batched, best-effort.</summary>
internal sealed class AuditEmitter : IAsyncDisposable
{
    private readonly Channel<JsonObject> _events = Channel.CreateUnbounded<JsonObject>(new UnboundedChannelOptions { SingleReader = true });
    private readonly HttpClient _http;
    private readonly Uri _url;
    private readonly Task _pump;
    private int _delivered;
    private int _failedBatches;

    public AuditEmitter(WebhookTarget target)
    {
        _http = WebhookHttp.Create(target);
        _url = target.Url;
        _pump = Task.Run(PumpAsync);
    }

    public int Delivered => Volatile.Read(ref _delivered);
    public int FailedBatches => Volatile.Read(ref _failedBatches);

    public void Emit(JsonObject auditEvent) => _events.Writer.TryWrite(auditEvent);

    private async Task PumpAsync()
    {
        while (await _events.Reader.WaitToReadAsync())
        {
            var items = new JsonArray();
            while (items.Count < 100 && _events.Reader.TryRead(out var e))
            {
                items.Add(e);
            }

            var list = new JsonObject { ["kind"] = "EventList", ["apiVersion"] = "audit.k8s.io/v1", ["metadata"] = new JsonObject(), ["items"] = items };
            try
            {
                using var content = new StringContent(list.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
                using var response = await _http.PostAsync(_url, content);
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Add(ref _delivered, items.Count);
                }
                else
                {
                    Interlocked.Increment(ref _failedBatches);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref _failedBatches);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _events.Writer.TryComplete();
        await _pump.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _http.Dispose();
    }
}
