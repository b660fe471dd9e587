using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using AuditGateway.Demo;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Grpc.Probe;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AuditGateway.Tests.Grpc;

/// <summary>
/// One gateway in front of a real gRPC service over h2c (<c>backend-protocol: GRPC</c>), the same
/// service over TLS (ingress-nginx's <c>backend-protocol: GRPCS</c>), a plain HTTP/2-only backend
/// (<c>H2C</c>), a gRPC route every client is denied and one whose endpoint is down. Clients reach
/// the gateway over its TLS listener, where ALPN gives them HTTP/2.
/// </summary>
public sealed class GrpcGatewayFixture : IAsyncLifetime
{
    private readonly X509Certificate2 _backendCertificate = TestCertificates.Create("probe backend", "probe.internal");
    private ProbeBackend? _h2c;
    private ProbeBackend? _tls;
    private LoopbackServer? _plain;
    private TestGateway? _gateway;

    internal TestGateway Gateway => _gateway ?? throw new InvalidOperationException("the fixture is not initialized");

    public async Task InitializeAsync()
    {
        _h2c = await ProbeBackend.StartAsync();
        _tls = await ProbeBackend.StartAsync(_backendCertificate);

        // Answers with the protocol it was spoken to in; it speaks HTTP/2 only.
        _plain = await LoopbackServer.StartAsync(app => app.Run(c => c.Response.WriteAsync(c.Request.Protocol)), listen: l => l.Protocols = HttpProtocols.Http2);

        // Stopped before the tests: its EndpointSlice lists a port nothing listens on.
        var gone = await EchoBackend.StartAsync("gone");
        await gone.DisposeAsync();

        var gateway = new TestGateway();
        _gateway = gateway;
        gateway.WriteManifest("grpc.yaml", Manifests.Documents(
            Manifests.Backend("probe", _h2c.Port),
            Manifests.Backend("probe-tls", _tls.Port, portName: "grpcs"),
            Manifests.Backend("plain", _plain.Port),
            Manifests.Backend("gone", gone.Port),
            Ingress("grpc", "grpc.test", "probe", ("auditgateway.io/backend-protocol", "GRPC")),
            Ingress("grpcs", "grpcs.test", "probe-tls", ("nginx.ingress.kubernetes.io/backend-protocol", "grpcs")),
            Ingress("h2c", "h2c.test", "plain", ("auditgateway.io/backend-protocol", "H2C")),
            Ingress("denied", "denied.test", "probe", ("auditgateway.io/backend-protocol", "GRPC"), ("auditgateway.io/allow-source-range", "10.0.0.0/8")),
            Ingress("gone", "gone.test", "gone", ("auditgateway.io/backend-protocol", "GRPC"))));
        await gateway.StartAsync();
        await gateway.WaitForAsync(t => t.Routes.Count(r => r.Backend.DestinationPrefixes.Count == 1) == 5);
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        foreach (var backend in new[] { _h2c, _tls })
        {
            if (backend is not null)
            {
                await backend.DisposeAsync();
            }
        }

        if (_plain is not null)
        {
            await _plain.DisposeAsync();
        }

        _backendCertificate.Dispose();
    }

    private static string Ingress(string name, string host, string service, params (string Key, string Value)[] annotations) =>
        Manifests.Ingress(
            name,
            [new HostRule(host, new PathRule("/", "Prefix", service, 80))],
            annotations: annotations.ToDictionary(a => a.Key, a => a.Value));
}

public sealed class GrpcProxyTests(GrpcGatewayFixture fixture) : IClassFixture<GrpcGatewayFixture>
{
    private TestGateway Gateway => fixture.Gateway;

    private Probe.Probe.ProbeClient Client(string host) =>
        new(GrpcChannel.ForAddress("https://" + host, new GrpcChannelOptions { HttpClient = Gateway.CreateClient() }));

    /// <summary>The <c>request</c> body of the entry with this request id.</summary>
    private async Task<JsonObject> EntryAsync(string? requestId)
    {
        Assert.False(string.IsNullOrEmpty(requestId), "the backend reported no X-Request-ID");
        var entry = await Gateway.WaitForEntryAsync(e => (string?)e["kind"] == "request" && (string?)e["request"]!["id"] == requestId, "the entry of request " + requestId);
        return entry["request"]!.AsObject();
    }

    private async Task<JsonObject> EntryForHostAsync(string host) =>
        (await Gateway.WaitForEntryAsync(e => (string?)e["kind"] == "request" && (string?)e["request"]!["host"] == host, "an entry for " + host))["request"]!.AsObject();

    [Fact]
    public async Task A_unary_call_through_GRPC_is_answered_with_its_trailers_and_audited_with_status_and_counts()
    {
        using var call = Client("grpc.test").EchoAsync(new EchoRequest { Name = "alice" });

        Assert.Equal("hello alice", (await call.ResponseAsync).Message);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        var id = call.GetTrailers().GetValue(ProbeBackend.RequestIdTrailer);
        var entry = await EntryAsync(id);
        Assert.Equal("HTTP/2", (string?)entry["protocol"]);
        Assert.Equal(200, (int?)entry["status"]);
        Assert.Equal("/auditgateway.tests.probe.Probe/Echo", (string?)entry["path"]);
        Assert.Equal("{\"status\":0,\"messagesIn\":1,\"messagesOut\":1}", entry["grpc"]!.ToJsonString());
    }

    [Fact]
    public async Task A_server_stream_of_five_messages_arrives_whole_and_is_audited_with_five_messages_out()
    {
        using var call = Client("grpc.test").Count(new CountRequest { Count = 5 });

        var indexes = new List<int>();
        await foreach (var reply in call.ResponseStream.ReadAllAsync())
        {
            indexes.Add(reply.Index);
        }

        Assert.Equal([0, 1, 2, 3, 4], indexes);
        var headerId = (await call.ResponseHeadersAsync).GetValue(ProbeBackend.RequestIdTrailer);
        Assert.Equal(headerId, call.GetTrailers().GetValue(ProbeBackend.RequestIdTrailer));
        var entry = await EntryAsync(headerId);
        Assert.Equal("{\"status\":0,\"messagesIn\":1,\"messagesOut\":5}", entry["grpc"]!.ToJsonString());
    }

    [Fact]
    public async Task A_call_that_fails_gives_the_client_the_status_message_and_trailers_and_the_entry_records_them()
    {
        using var call = Client("grpc.test").EchoAsync(new EchoRequest { Name = ProbeBackend.Missing });

        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.NotFound, failure.StatusCode);
        Assert.Equal("no probe named missing", failure.Status.Detail);
        var entry = await EntryAsync(failure.Trailers.GetValue(ProbeBackend.RequestIdTrailer));
        Assert.Equal(200, (int?)entry["status"]);
        Assert.Equal("{\"status\":5,\"message\":\"no probe named missing\",\"messagesIn\":1,\"messagesOut\":0}", entry["grpc"]!.ToJsonString());
    }

    [Fact]
    public async Task A_stream_the_client_cancels_is_audited_with_the_messages_that_passed_and_no_status()
    {
        using var cancel = new CancellationTokenSource();
        using var call = Client("grpc.test").Count(new CountRequest { Count = -2 }, cancellationToken: cancel.Token);

        var id = (await call.ResponseHeadersAsync).GetValue(ProbeBackend.RequestIdTrailer);
        Assert.True(await call.ResponseStream.MoveNext(cancel.Token));
        Assert.True(await call.ResponseStream.MoveNext(cancel.Token));
        await cancel.CancelAsync();

        var entry = await EntryAsync(id);
        Assert.Equal("{\"messagesIn\":1,\"messagesOut\":2}", entry["grpc"]!.ToJsonString());
    }

    [Fact]
    public async Task A_GRPCS_backend_with_a_self_signed_certificate_is_called_over_TLS()
    {
        using var call = Client("grpcs.test").EchoAsync(new EchoRequest { Name = "bob" });

        Assert.Equal("hello bob", (await call.ResponseAsync).Message);
        var entry = await EntryAsync(call.GetTrailers().GetValue(ProbeBackend.RequestIdTrailer));
        Assert.Equal("{\"status\":0,\"messagesIn\":1,\"messagesOut\":1}", entry["grpc"]!.ToJsonString());
        Assert.Equal("probe-tls", (string?)entry["route"]!["service"]);
    }

    [Fact]
    public async Task An_H2C_backend_is_spoken_to_in_HTTP2_whatever_the_client_speaks_and_its_entry_has_no_grpc()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://h2c.test/") { Version = System.Net.HttpVersion.Version11 };
        request.Headers.UserAgent.ParseAdd("h2c-probe/1");
        using var response = await Gateway.Client.SendAsync(request);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("HTTP/2", await response.Content.ReadAsStringAsync());
        var entry = await Gateway.WaitForRequestEntryAsync("h2c-probe/1");
        Assert.Equal("HTTP/1.1", (string?)entry["protocol"]);
        Assert.False(entry.ContainsKey("grpc"));
    }

    [Fact]
    public async Task A_call_the_gateway_refuses_gets_a_gRPC_status_the_HTTP_status_stays_in_the_entry()
    {
        var denied = await Assert.ThrowsAsync<RpcException>(() => Client("denied.test").EchoAsync(new EchoRequest { Name = "eve" }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Equal("client 127.0.0.1 is not in an allowed range", denied.Status.Detail);

        var entry = await EntryForHostAsync("denied.test");
        Assert.Equal(403, (int?)entry["status"]);
        Assert.Equal("deny", (string?)entry["decision"]!["decision"]);
        Assert.Equal(7, (int?)entry["grpc"]!["status"]);
        Assert.Equal(denied.Status.Detail, (string?)entry["grpc"]!["message"]);
        Assert.Equal((0, 0), ((long?)entry["grpc"]!["messagesIn"], (long?)entry["grpc"]!["messagesOut"]));

        var unrouted = await Assert.ThrowsAsync<RpcException>(() => Client("nowhere.test").EchoAsync(new EchoRequest { Name = "eve" }).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, unrouted.StatusCode);
        Assert.Equal("no route matches this host and path", unrouted.Status.Detail);
        var noRoute = await EntryForHostAsync("nowhere.test");
        Assert.Equal(404, (int?)noRoute["status"]);
        Assert.Equal(12, (int?)noRoute["grpc"]!["status"]);
    }

    [Fact]
    public async Task A_call_whose_backend_is_down_gets_UNAVAILABLE_with_the_reason_and_the_entry_keeps_the_502()
    {
        var failed = await Assert.ThrowsAsync<RpcException>(() => Client("gone.test").EchoAsync(new EchoRequest { Name = "eve" }).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, failed.StatusCode);
        Assert.StartsWith("backend 127.0.0.1:", failed.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("not retried", failed.Status.Detail, StringComparison.Ordinal);

        var entry = await EntryForHostAsync("gone.test");
        Assert.Equal(502, (int?)entry["status"]);
        Assert.Equal(14, (int?)entry["grpc"]!["status"]);
        Assert.Equal(failed.Status.Detail, (string?)entry["grpc"]!["message"]);
        Assert.NotNull((string?)entry["upstreamError"]);
    }
}
