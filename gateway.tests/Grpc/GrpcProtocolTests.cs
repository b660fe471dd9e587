using AuditGateway.Audit.Cli;
using AuditGateway.Audit.Entries;
using AuditGateway.Proxy;
using Microsoft.AspNetCore.Http.Features;

namespace AuditGateway.Tests.Grpc;

/// <summary>Which requests are gRPC calls, and what their entries take from the response.</summary>
public sealed class GrpcProtocolTests
{
    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("Application/GRPC+json", true)]
    [InlineData("application/grpc; charset=utf-8", true)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/grpc-web-text", false)]
    [InlineData("application/grpcx", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void A_call_is_known_by_its_content_type(string? contentType, bool call)
    {
        var context = new DefaultHttpContext();
        context.Request.ContentType = contentType;

        Assert.Equal(call, GrpcProtocol.IsCall(context.Request));
    }

    [Fact]
    public void The_status_and_message_come_from_the_trailers_else_from_the_headers_of_a_trailers_only_answer()
    {
        var context = new DefaultHttpContext();
        var trailers = new HeaderDictionary();
        context.Features.Set<IHttpResponseTrailersFeature>(new TrailersFeature(trailers));
        context.Response.Headers["grpc-status"] = "13";
        context.Response.Headers["grpc-message"] = "from the headers";
        trailers["grpc-status"] = "5";
        trailers["grpc-message"] = "caf%C3%A9 100%25 %F0%9F%8E%89";

        Assert.Equal(new(5, "café 100% 🎉", 0, 0), GrpcProtocol.Outcome(context, null, null));

        trailers.Clear();
        Assert.Equal(new(13, "from the headers", 0, 0), GrpcProtocol.Outcome(context, null, null));

        context.Response.Headers.Clear();
        Assert.Equal(new(null, null, 0, 0), GrpcProtocol.Outcome(context, null, null));

        context.Response.Headers["grpc-status"] = "not a number";
        Assert.Null(GrpcProtocol.Outcome(context, null, null).Status);
    }

    [Fact]
    public void A_long_message_is_cut_to_the_bound_and_never_between_the_halves_of_a_surrogate_pair()
    {
        var context = new DefaultHttpContext();
        context.Response.Headers["grpc-message"] = new string('x', GrpcProtocol.MostMessageChars);
        Assert.Equal(GrpcProtocol.MostMessageChars, GrpcProtocol.Outcome(context, null, null).Message!.Length);

        context.Response.Headers["grpc-message"] = new string('x', GrpcProtocol.MostMessageChars - 2) + "%F0%9F%8E%89" + "yyyy";
        var cut = GrpcProtocol.Outcome(context, null, null).Message!;
        Assert.Equal(new string('x', GrpcProtocol.MostMessageChars - 2) + "…", cut);
    }

    [Theory]
    [InlineData(400, 13)]
    [InlineData(401, 16)]
    [InlineData(403, 7)]
    [InlineData(404, 12)]
    [InlineData(405, 2)]
    [InlineData(429, 14)]
    [InlineData(502, 14)]
    [InlineData(503, 14)]
    [InlineData(504, 14)]
    public void The_gateways_own_answers_map_to_the_gRPC_status_of_the_specification(int http, int grpc)
    {
        var context = new DefaultHttpContext();
        GrpcProtocol.AnswerOwn(context.Response, http, "50% off");

        Assert.Equal(grpc, GrpcProtocol.StatusFor(http));
        Assert.Equal(new(grpc, "50% off", 0, 0), GrpcProtocol.Outcome(context, null, null));
        Assert.Equal("application/grpc", context.Response.ContentType);
    }

    [Fact]
    public void Tail_shows_a_calls_status_and_messages_in_and_out()
    {
        var sample = (RequestBody)SampleEntries.Request(1, DateTimeOffset.UnixEpoch).Body;
        string Tail(GrpcCall? grpc) => EntrySummary.Describe(new LoggedEntry(1, DateTimeOffset.UnixEpoch, "n", new string('0', 64), sample with { Grpc = grpc }));

        Assert.EndsWith(" grpc=5 messages=1/0", Tail(new(5, "gone", 1, 0)), StringComparison.Ordinal);
        Assert.EndsWith(" grpc=- messages=1/2", Tail(new(null, null, 1, 2)), StringComparison.Ordinal);
        Assert.DoesNotContain("grpc=", Tail(null), StringComparison.Ordinal);
    }

    private sealed class TrailersFeature(IHeaderDictionary trailers) : IHttpResponseTrailersFeature
    {
        public IHeaderDictionary Trailers { get; set; } = trailers;
    }
}
