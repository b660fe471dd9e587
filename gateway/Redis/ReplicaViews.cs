using System.Globalization;
using System.Runtime.CompilerServices;
using AuditGateway.Reports;
using StackExchange.Redis;

namespace AuditGateway.Redis;

/// <summary>
/// What the dashboard shows of every replica (docs/replicas.md, "Every replica on one page"): each node
/// writes its live route report (the JSON of <c>/api/reports/routes?live=true</c>) to
/// <c>auditgw:live:&lt;node&gt;</c> every <see cref="PublishInterval"/>, expiring after
/// <see cref="Lifetime"/> so a node that stopped drops out; and, with <c>redis.streamEntries</c>, the
/// entries of every node are read from their streams. Reads are bounded by <c>redis.timeout</c>; nothing
/// here is on the request path.
/// </summary>
internal sealed class ReplicaViews : IDisposable
{
    public const string LiveKeyPrefix = "auditgw:live:";

    public static readonly TimeSpan PublishInterval = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(5);

    /// <summary>How often the streams are read, and new ones looked for, while following.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    private static readonly RedisValue LineField = "line";

    private readonly RedisLink _link;
    private readonly LiveReports _live;
    private readonly TimeProvider _time;
    private readonly ITimer _publisher;
    private int _publishing;

    public ReplicaViews(RedisLink link, LiveReports live, TimeProvider time)
    {
        _link = link;
        _live = live;
        _time = time;
        _publisher = time.CreateTimer(static state => _ = ((ReplicaViews)state!).PublishAsync(), this, PublishInterval, PublishInterval);
    }

    /// <summary>Whether every node's entries can be followed (<c>redis.streamEntries</c> is on here; it should be on every replica).</summary>
    public bool StreamsEntries => _link.Options.StreamEntries;

    public void Dispose() => _publisher.Dispose();

    /// <summary>
    /// Every live node's route report (the JSON documents as published), ordered by node; while Redis is
    /// down or does not answer in time, none and why (the dashboard keeps its last numbers and says so).
    /// </summary>
    public async Task<(List<string> Reports, string? Unavailable)> LiveRoutesAsync()
    {
        if (_link.Outage is { } outage)
        {
            return ([], outage);
        }

        if (_link.Database is not { } database)
        {
            return ([], $"Redis {_link.Options.Url} is not connected yet");
        }

        try
        {
            var keys = new List<RedisKey>();
            await foreach (var key in _link.KeysAsync(LiveKeyPrefix + "*"))
            {
                keys.Add(key);
            }

            keys.Sort((x, y) => string.CompareOrdinal(x, y));
            var values = keys.Count == 0 ? [] : await database.StringGetAsync([.. keys]);
            return ([.. values.Where(v => v.HasValue).Select(v => (string)v!)], null);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _link.Failed();
            return ([], $"Redis {_link.Options.Url} did not answer: {RedisFailure.Describe(e, _link.Options.Timeout)}");
        }
    }

    /// <summary>
    /// The entries every node writes from now on, as they reach its stream (a node that appears later is
    /// read from its stream's start): node, seq, kind and the exact line. Polls every <see cref="PollInterval"/>;
    /// a failed read is retried at the next poll.
    /// </summary>
    public async IAsyncEnumerable<(string Node, long Seq, string Kind, string Line)> FollowAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var positions = new Dictionary<string, RedisValue>(StringComparer.Ordinal);
        var first = true;
        long? lastDiscovery = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            StreamEntry[][] read = [];
            List<string> streams = [];
            if (_link.IsUp && _link.Database is { } database)
            {
                try
                {
                    if (lastDiscovery is not { } discovered || _time.GetElapsedTime(discovered) >= TimeSpan.FromSeconds(1))
                    {
                        lastDiscovery = _time.GetTimestamp();
                        await foreach (var found in _link.KeysAsync(EntryStream.KeyPrefix + "*"))
                        {
                            var key = found.ToString();
                            if (!positions.ContainsKey(key))
                            {
                                // Streams there when following began start at their end; later ones at their start.
                                var last = first ? await database.StreamRangeAsync(key, "-", "+", count: 1, messageOrder: Order.Descending) : [];
                                positions[key] = last.Length == 1 ? last[0].Id : "0-0";
                            }
                        }

                        first = false;
                    }

                    streams = [.. positions.Keys.Order(StringComparer.Ordinal)];
                    read = await Task.WhenAll(streams.Select(key => database.StreamReadAsync(key, positions[key], count: 500)));
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    _link.Failed();
                    read = [];
                }
            }

            for (var i = 0; i < read.Length; i++)
            {
                var node = streams[i][EntryStream.KeyPrefix.Length..];
                foreach (var entry in read[i])
                {
                    positions[streams[i]] = entry.Id;
                    if (EntryStream.SeqOf(entry.Id) is { } seq && (string?)entry[LineField] is { } line)
                    {
                        yield return (node, seq, (string?)entry["kind"] ?? "", line);
                    }
                }
            }

            if (read.All(r => r.Length < 500))
            {
                try
                {
                    await Task.Delay(PollInterval, _time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    yield break;
                }
            }
        }
    }

    private async Task PublishAsync()
    {
        if (!_link.IsUp || _link.Database is not { } database || Interlocked.Exchange(ref _publishing, 1) == 1)
        {
            return;
        }

        try
        {
            var routes = ReportRenderer.Render(_live.Snapshot(), ReportKind.Routes, ReportFormat.Json);
            var document = string.Create(CultureInfo.InvariantCulture, $"{{\"node\":{System.Text.Json.JsonSerializer.Serialize(_link.Node, ReplicaJsonContext.Default.String)},\"at\":\"{_time.GetUtcNow():yyyy-MM-ddTHH:mm:ss.fffZ}\",\"report\":{routes.TrimEnd()}}}");
            await database.StringSetAsync(LiveKeyPrefix + _link.Node, document, Lifetime);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _link.Failed();
        }
        finally
        {
            Volatile.Write(ref _publishing, 0);
        }
    }
}
