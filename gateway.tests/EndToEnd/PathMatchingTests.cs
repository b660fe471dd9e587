using System.Globalization;
using System.Net;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// Every entry of the Kubernetes documentation's path-matching table, through the gateway to
/// echo backends: row N is an Ingress for host <c>rowN.paths.test</c> whose i-th path points
/// at service <c>pathI</c>, so the backend that answers names the path that won.
/// </summary>
public sealed class PathMatchingTests(PathMatchingTests.Rows fixture) : IClassFixture<PathMatchingTests.Rows>
{
    private static readonly string[] AnyPaths = ["/", "/foo", "/aaa/bbb/ccc", "/Mixed/Case.txt"];

    public static TheoryData<int, string> Cases()
    {
        var data = new TheoryData<int, string>();
        foreach (var entry in PathMatchingTable.Flattened)
        {
            data.Add(entry.Row, entry.Request);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Request_is_served_as_the_table_says(int row, string request)
    {
        var entry = PathMatchingTable.Flattened.Single(e => e.Row == row && e.Request == request);
        if (entry.FallsBackToDefaultBackend)
        {
            // The default backend catches every unmatched request, so this row gets a gateway of its own.
            await using var own = await Rows.StartAsync(entry);
            await AssertServedAsync(own, entry);
            return;
        }

        await AssertServedAsync(fixture.Gateway, entry);
    }

    [Theory]
    [InlineData(2, "/FOO")] // Exact /foo
    [InlineData(9, "/AAA/bbb")] // Prefix /aaa/bbb
    [InlineData(9, "/aaa/BBB/ccc")]
    public async Task Paths_match_case_sensitively(int row, string path) =>
        Assert.Equal("404", await fixture.Gateway.ServedByAsync($"http://{Host(row)}{path}"));

    [Fact]
    public void Table_has_the_documented_twenty_entries_from_eighteen_rows()
    {
        Assert.Equal(20, PathMatchingTable.Flattened.Count);
        Assert.Equal(18, PathMatchingTable.Flattened.Select(e => e.Row).Distinct().Count());
    }

    private static async Task AssertServedAsync(TestGateway gateway, PathCase entry)
    {
        var host = Host(entry.Row);
        foreach (var path in entry.Request == PathCase.AllPaths ? AnyPaths : [entry.Request])
        {
            var url = $"http://{host}{path}";
            using var response = await gateway.GetAsync(url);
            if (entry.Matches)
            {
                var echo = await TestGateway.ReadEchoAsync(response, url);
                Assert.Equal(Service(entry.WinnerIndex()), echo.Service);
                Assert.Equal(path, echo.Path);
            }
            else if (entry.FallsBackToDefaultBackend)
            {
                var echo = await TestGateway.ReadEchoAsync(response, url);
                Assert.Equal(Rows.DefaultService, echo.Service);
            }
            else
            {
                Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
                Assert.Equal("no route matches this host and path", TestGateway.Reason(response));
            }
        }
    }

    private static string Host(int row) => string.Create(CultureInfo.InvariantCulture, $"row{row}.paths.test");

    private static string Service(int index) => string.Create(CultureInfo.InvariantCulture, $"path{index}");

    /// <summary>One gateway serving every row that does not need the default backend.</summary>
    public sealed class Rows : SharedGateway
    {
        public const string DefaultService = "fallback";

        private static readonly string[] Services = ["path0", "path1", "path2", DefaultService];

        private protected override string[] Backends => Services;

        internal static Task<TestGateway> StartAsync(PathCase row) => TestGateway.StartAsync(Services, g => Write(g, [row]));

        private protected override void WriteManifests(TestGateway gateway) =>
            Write(gateway, [.. PathMatchingTable.Flattened.Where(e => !e.FallsBackToDefaultBackend).DistinctBy(e => e.Row)]);

        private static void Write(TestGateway gateway, PathCase[] rows)
        {
            gateway.WriteManifest("services.yaml", Manifests.Documents([.. Services.Select(s => gateway.ServiceFor(s))]));
            foreach (var row in rows)
            {
                var paths = row.Paths.Select((p, i) => new PathRule(p.Path, p.PathType, Service(i), 80)).ToArray();
                gateway.WriteManifest(
                    string.Create(CultureInfo.InvariantCulture, $"row{row.Row}.yaml"),
                    Manifests.Ingress(
                        string.Create(CultureInfo.InvariantCulture, $"row-{row.Row}"),
                        [new HostRule(Host(row.Row), paths)],
                        defaultBackend: row.FallsBackToDefaultBackend ? (DefaultService, 80) : null));
            }
        }
    }
}
