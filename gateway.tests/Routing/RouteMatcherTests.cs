using System.Text.Json;
using AuditGateway.Routing;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Routing;

/// <summary>The matcher against the Kubernetes Ingress docs' path and host tables.</summary>
public sealed class RouteMatcherTests
{
    public static TheoryData<int, string> PathRows()
    {
        var data = new TheoryData<int, string>();
        using var doc = Fixtures.Load("ingress-path-matching.json");
        var index = 0;
        foreach (var entry in doc.RootElement.GetProperty("flattened").EnumerateArray())
        {
            data.Add(index++, entry.GetProperty("request").GetString()!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PathRows))]
    public void Path_matching_follows_the_Ingress_docs_table(int index, string request)
    {
        using var doc = Fixtures.Load("ingress-path-matching.json");
        var entry = doc.RootElement.GetProperty("flattened")[index];
        var routes = entry.GetProperty("paths").EnumerateArray()
            .Select(p => Route(null, p.GetProperty("path").GetString()!, p.GetProperty("pathType").GetString()!))
            .ToList();
        var fallback = Route(null, "", "Default") with { Id = "default-backend", Path = null, PathType = null };
        var matcher = new RouteMatcher(routes, fallback);
        var requests = request == "(all paths)" ? ["/", "/foo", "/foo/bar/", "/aaa/bbb"] : new[] { request };

        foreach (var path in requests)
        {
            var match = matcher.Match("example.com", path);
            if (entry.GetProperty("matches").GetBoolean())
            {
                Assert.NotNull(match);
                Assert.Equal(entry.GetProperty("matchedPath").GetString(), match.Path);
                if (entry.TryGetProperty("matchedPathType", out var type) && type.ValueKind == JsonValueKind.String)
                {
                    Assert.Equal(type.GetString(), match.PathType);
                }
            }
            else
            {
                // A path that matches nothing goes to the default backend.
                Assert.Same(fallback, match);
            }
        }
    }

    [Theory]
    [InlineData("bar.foo.com", true)]
    [InlineData("baz.bar.foo.com", false)]
    [InlineData("foo.com", false)]
    [InlineData("BAR.Foo.Com", true)]
    [InlineData("bar.foo.com.", true)]
    [InlineData(".foo.com", false)]
    public void Wildcard_host_covers_exactly_one_label(string host, bool matches)
    {
        var matcher = new RouteMatcher([Route("*.foo.com", "/", "Prefix")], null);
        Assert.Equal(matches, matcher.Match(host, "/") is not null);
    }

    [Fact]
    public void Wildcard_fixture_rows_hold()
    {
        using var doc = Fixtures.Load("ingress-path-matching.json");
        foreach (var row in doc.RootElement.GetProperty("hostWildcardTable").EnumerateArray())
        {
            var matcher = new RouteMatcher([Route(row.GetProperty("host").GetString(), "/", "Prefix")], null);
            var matched = matcher.Match(row.GetProperty("hostHeader").GetString(), "/") is not null;
            Assert.Equal(row.GetProperty("matches").GetBoolean(), matched);
        }
    }

    [Fact]
    public void Exact_host_beats_wildcard_beats_no_host_and_a_miss_falls_through()
    {
        var exact = Route("a.example.com", "/api", "Prefix");
        var wildcard = Route("*.example.com", "/", "Prefix");
        var anyHost = Route(null, "/", "Prefix");
        var matcher = new RouteMatcher([anyHost, wildcard, exact], null);

        Assert.Same(exact, matcher.Match("a.example.com", "/api/x"));
        Assert.Same(wildcard, matcher.Match("a.example.com", "/other"));
        Assert.Same(wildcard, matcher.Match("b.example.com", "/api"));
        Assert.Same(anyHost, matcher.Match("example.com", "/api"));
    }

    [Fact]
    public void Exact_paths_are_case_sensitive_and_Prefix_matches_by_element()
    {
        var exact = Route("h", "/Admin", "Exact");
        var prefix = Route("h", "/docs/v1/", "Prefix");
        var matcher = new RouteMatcher([exact, prefix], null);

        Assert.Same(exact, matcher.Match("h", "/Admin"));
        Assert.Null(matcher.Match("h", "/admin"));
        Assert.Null(matcher.Match("h", "/Admin/"));
        Assert.Same(prefix, matcher.Match("h", "/docs/v1"));
        Assert.Same(prefix, matcher.Match("h", "/docs/v1/x/y"));
        Assert.Null(matcher.Match("h", "/docs/v10"));
        Assert.Null(matcher.Match("h", ""));
    }

    private static IngressRoute Route(string? host, string path, string pathType) => new()
    {
        Id = $"test:{host}{path}:{pathType}",
        Host = host,
        Path = path,
        PathType = pathType,
        Namespace = "default",
        Ingress = "test",
        Backend = new RouteBackend { Service = "svc", Port = "80" },
    };
}
