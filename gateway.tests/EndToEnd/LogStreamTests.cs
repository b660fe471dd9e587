using System.Net;
using System.Net.Http.Headers;
using System.Text;
using AuditGateway.Tests.Common;
using AuditGateway.Tests.Search;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// <c>GET /api/log/stream</c> read by a real HttpClient while traffic flows: after a disconnect,
/// <c>Last-Event-ID</c> resumes the stream with no gap and no repeat, and every event is the log's line.
/// </summary>
public sealed class LogStreamTests(SearchGateway fixture) : IClassFixture<SearchGateway>
{
    private TestGateway Gateway => fixture.Gateway;

    /// <summary>Requests through the gateway, one after another, until disposed.</summary>
    private sealed class Traffic : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public Traffic(TestGateway gateway) => _loop = Task.Run(async () =>
        {
            for (var i = 0; !_stop.IsCancellationRequested; i++)
            {
                using var response = await gateway.Client.GetAsync(new Uri($"http://app.test/live{i}"), _stop.Token);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        });

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _loop;
            }
            catch (OperationCanceledException)
            {
            }

            _stop.Dispose();
        }
    }

    private sealed record Event(long Id, string Kind, string Data);

    /// <summary>Opens the stream and reads <paramref name="count"/> events, then disconnects.</summary>
    private async Task<List<Event>> ReadAsync(string path, int count, string? lastEventId = null, Action? onOpen = null)
    {
        using var timeout = new CancellationTokenSource(TestGateway.Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, Gateway.AdminUri(path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", SearchGateway.AuditorToken);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        using var client = Gateway.CreateClient();
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        onOpen?.Invoke();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token), Encoding.UTF8);
        var events = new List<Event>();
        var fields = new Dictionary<string, string>();
        while (events.Count < count)
        {
            var line = await reader.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("the stream ended");
            if (line.Length > 0)
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                fields[line[..colon]] = line[(colon + 1)..].TrimStart(' ');
                continue;
            }

            events.Add(new Event(long.Parse(fields["id"], System.Globalization.CultureInfo.InvariantCulture), fields["event"], fields["data"]));
            fields.Clear();
        }

        return events;
    }

    /// <summary>Each event is the log's line of its seq, with its kind.</summary>
    private void AssertAreTheLogsLines(IEnumerable<Event> events)
    {
        var lines = AuditLogFiles.ReadLines(Gateway.DataDirectory);
        var entries = fixture.Entries();
        foreach (var e in events)
        {
            Assert.Equal(Encoding.UTF8.GetString(lines[(int)e.Id]), e.Data);
            Assert.Equal(entries[(int)e.Id].Kind(), e.Kind);
        }
    }

    private Task LogPassesAsync(long seq) => Eventually.TrueAsync(() => fixture.Entries()[^1].Seq() > seq, TestGateway.Timeout, $"the log passes seq {seq}");

    [Fact]
    public async Task Reconnecting_with_Last_Event_ID_resumes_with_no_gap_and_no_repeat()
    {
        List<Event> first, second;
        await using (new Traffic(Gateway))
        {
            first = await ReadAsync("/api/log/stream", 20);

            // Traffic goes on while disconnected: the resumed stream replays those entries from the files, then goes live.
            await LogPassesAsync(first[^1].Id + 30);
            second = await ReadAsync("/api/log/stream", 60, lastEventId: first[^1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var ids = first.Concat(second).Select(e => e.Id).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(Enumerable.Range(0, ids.Count).Select(i => ids[0] + i), ids);
        AssertAreTheLogsLines(first.Concat(second));
    }

    [Fact]
    public async Task A_filtered_stream_resumes_from_the_files_with_the_same_filter_and_the_read_is_audited()
    {
        var requests = fixture.Entries().Seqs(EntryFilters.IsRequest);
        var from = requests[2];
        List<Event> first, second;
        await using (new Traffic(Gateway))
        {
            first = await ReadAsync($"/api/log/stream?kind=request&route=default/app&lastEventId={from}", 5, onOpen: () =>
                Assert.Contains(fixture.Entries(), e => e.Kind() == "security" && e.Body().Text("reason") == "stream log" && e.Body().Text("by") == "admin:alice-auditor"));
            second = await ReadAsync("/api/log/stream?kind=request&route=default/app", 25, lastEventId: first[^1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var ids = first.Concat(second).Select(e => e.Id).ToList();
        var expected = fixture.Entries().Seqs(EntryFilters.Route("default/app")).Where(s => s > from).Take(ids.Count);
        Assert.Equal(expected, ids);
        Assert.All(first.Concat(second), e => Assert.Equal("request", e.Kind));
        AssertAreTheLogsLines(first.Concat(second));
    }
}
