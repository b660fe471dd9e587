using System.Globalization;
using System.Net;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// Every entry of the Kubernetes documentation's path-matching table, through the gateway to
/// echo backends: row N is an Ingress for host <c>rowN.paths.test</c> whose i-th path points
/// at service <c>pathI</c>, so the backend that answers names the path that won.
/// </summary>
public sealed class PathMatchingTests(PathMatchingTests.Gateway fixture) : IClassFixture<PathMatchingTests.Gateway>
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
            await using var own = await Gateway.StartAsync(entry);
            await AssertServedAsync(own, entry);
            return;
        }

        await AssertServedAsync(fixture.Shared, entry);
    }

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
                Assert.Equal(Gateway.DefaultService, echo.Service);
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
    public sealed class Gateway : IAsyncLifetime
    {
        public const string DefaultService = "fallback";

        private TestGateway? _shared;

        internal TestGateway Shared => _shared!;

        public async Task InitializeAsync()
        {
            var rows = PathMatchingTable.Flattened.Where(e => !e.FallsBackToDefaultBackend).DistinctBy(e => e.Row);
            _shared = await StartAsync([.. rows]);
        }

        public async Task DisposeAsync()
        {
            if (_shared is not null)
            {
                await _shared.DisposeAsync();
            }
        }

        internal static async Task<TestGateway> StartAsync(params PathCase[] rows)
        {
            var gateway = new TestGateway();
            var services = Enumerable.Range(0, rows.Max(r => r.Paths.Count)).Select(Service).Append(DefaultService).ToArray();
            await gateway.AddBackendsAsync(services);
            gateway.WriteManifest("services.yaml", Manifests.Documents([.. services.Select(s => gateway.ServiceFor(s))]));
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

            await gateway.StartAsync();
            return gateway;
        }
    }
}
