using System.Diagnostics;
using System.Threading.Channels;

namespace AuditGateway.LoadTest;

/// <summary>
/// Requests at a steady rate: a pacer releases one ticket per 1/rate seconds (catching up after a
/// late tick, never bursting more than a second's worth), and a fixed set of workers, one
/// keep-alive connection each, sends a GET per ticket. Latency is measured from the send.
/// </summary>
internal sealed class PacedLoad(Uri target, string host, int rate, int workers)
{
    private long _sent;

    public long Sent => Interlocked.Read(ref _sent);

    public sealed record Result(long Ok, long Failed, IReadOnlyCollection<double> LatenciesMs);

    public async Task<Result> RunAsync(TimeSpan duration, CancellationToken cancellationToken)
    {
        var tickets = Channel.CreateBounded<long>(new BoundedChannelOptions(rate) { FullMode = BoundedChannelFullMode.DropWrite });
        long ok = 0, failed = 0;
        var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
        var sample = Math.Max(1, rate / 200);
        var senders = Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            using var client = Gateway.Client();
            await foreach (var ticket in tickets.Reader.ReadAllAsync(cancellationToken))
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, target) { Headers = { Host = host } };
                    using var response = await client.SendAsync(request, cancellationToken);
                    await response.Content.ReadAsByteArrayAsync(cancellationToken);
                    Interlocked.Increment(ref (response.IsSuccessStatusCode ? ref ok : ref failed));
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failed);
                }
                catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref failed);
                }

                if (ticket % sample == 0)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            }
        }, cancellationToken)).ToArray();

        var start = Stopwatch.GetTimestamp();
        long issued = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        while (Stopwatch.GetElapsedTime(start) < duration && await timer.WaitForNextTickAsync(cancellationToken))
        {
            var due = (long)(Stopwatch.GetElapsedTime(start).TotalSeconds * rate);
            for (; issued < due; issued++)
            {
                if (tickets.Writer.TryWrite(issued))
                {
                    Interlocked.Increment(ref _sent);
                }
            }
        }

        tickets.Writer.Complete();
        await Task.WhenAll(senders);
        return new Result(ok, failed, latencies);
    }
}
