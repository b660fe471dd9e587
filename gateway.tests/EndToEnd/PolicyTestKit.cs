using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>One request through the gateway and the audit entry it produced.</summary>
internal sealed record Exchange(HttpStatusCode Status, HttpResponseMessage Response, string Body, JsonObject Entry)
{
    /// <summary>The backend that answered (<c>X-Backend</c>), or null when the gateway answered itself.</summary>
    public string? Backend => Response.Headers.TryGetValues("X-Backend", out var values) ? values.Single() : null;

    public string Header(string name) =>
        Response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values)
        : Response.Content.Headers.TryGetValues(name, out var content) ? string.Join(", ", content)
        : "";

    public JsonObject Decision => Entry["decision"]!.AsObject();

    public string? Rule => (string?)Decision["rule"];

    public string? Reason => (string?)Decision["reason"];

    public string? Outcome => (string?)Decision["decision"];

    public string? ClientIp => (string?)Entry["client"]!["ip"];

    public IReadOnlyList<string> Forwarded => [.. Entry["forwarded"]!.AsArray().Select(n => (string)n!)];

    public JsonObject Identity => Entry["identity"]!.AsObject();

    public override string ToString() => $"{(int)Status} backend={Backend} entry={Entry.ToJsonString()}";
}

/// <summary>What a test sends besides method and URL.</summary>
internal sealed record Send
{
    public HttpMethod Method { get; init; } = HttpMethod.Get;

    public string? XForwardedFor { get; init; }

    public string? Forwarded { get; init; }

    public string? Bearer { get; init; }

    public string? Cookie { get; init; }

    /// <summary>The client to send with; null = the gateway's default client (from 127.0.0.1, or [::1]).</summary>
    public HttpClient? Client { get; init; }
}

/// <summary>Helpers for the policy end-to-end tests: each request is tagged with a unique user agent to find its entry.</summary>
internal static class PolicyTestKit
{
    public static Task<Exchange> SendAsync(this TestGateway gateway, string url) => gateway.SendAsync(url, new Send());

    public static async Task<Exchange> SendAsync(this TestGateway gateway, string url, Send send)
    {
        var marker = "e2e-" + Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(send.Method, new Uri(url));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue(marker, "1"));
        if (send.XForwardedFor is { } xff)
        {
            request.Headers.Add("X-Forwarded-For", xff);
        }

        if (send.Forwarded is { } forwarded)
        {
            request.Headers.Add("Forwarded", forwarded);
        }

        if (send.Bearer is { } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (send.Cookie is { } cookie)
        {
            request.Headers.Add("Cookie", cookie);
        }

        var response = await (send.Client ?? gateway.Client).SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var entry = await gateway.WaitForRequestEntryAsync(marker + "/1");
        return new Exchange(response.StatusCode, response, body, entry);
    }

    /// <summary>The request was denied by the gateway (never reached a backend) with this status and rule, and audited so.</summary>
    public static void AssertDenied(Exchange exchange, HttpStatusCode status, string rule, string? reasonContains = null)
    {
        Assert.True(exchange.Status == status, $"expected {(int)status}, got {exchange}");
        Assert.Null(exchange.Backend);
        Assert.Equal("deny", exchange.Outcome);
        Assert.Equal(rule, exchange.Rule);
        Assert.Equal((int)status, (int?)exchange.Entry["status"]);
        if (reasonContains is not null)
        {
            Assert.Contains(reasonContains, exchange.Reason ?? "", StringComparison.Ordinal);
            Assert.Contains(reasonContains, TestGateway.Reason(exchange.Response), StringComparison.Ordinal);
        }
    }

    /// <summary>The request reached <paramref name="backend"/> and was audited as allowed with status 200.</summary>
    public static void AssertAllowed(Exchange exchange, string backend)
    {
        Assert.True(exchange.Status == HttpStatusCode.OK && exchange.Backend == backend, $"expected 200 from {backend}, got {exchange}");
        Assert.Equal("allow", exchange.Outcome);
        Assert.Equal(200, (int?)exchange.Entry["status"]);
        Assert.NotNull(exchange.Entry["route"]);
    }

    /// <summary>The client the entry names, and the forwarded chain (client first, the connection peer last).</summary>
    public static void AssertClient(Exchange exchange, string ip, params string[] chain)
    {
        Assert.Equal(ip, exchange.ClientIp);
        Assert.Equal(chain, exchange.Forwarded);
    }

    public static IPAddress Ip(string text) => IPAddress.Parse(text);
}
