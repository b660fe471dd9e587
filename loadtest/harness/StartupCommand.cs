using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace AuditGateway.LoadTest;

/// <summary>
/// <c>startup</c>: the time from creating the <c>auditgw demo</c> process to the first request
/// the gateway routes to the shop's web backend, polled every few milliseconds from process start.
/// </summary>
internal static class StartupCommand
{
    private const string ShopHost = "shop.demo.local";

    public static Command Create()
    {
        var runs = new Option<int>("--runs") { Description = "How many cold starts", DefaultValueFactory = _ => 5 };
        var poll = new Option<int>("--poll-ms") { Description = "Pause between probe requests", DefaultValueFactory = _ => 5 };
        var timeout = new Option<int>("--timeout-s") { Description = "Give up on one start after this long", DefaultValueFactory = _ => 60 };
        var gateway = new Option<string>("--gateway") { Description = "auditgw.dll (default: the repository's Release build)" };
        var command = new Command("startup", "Cold start of 'auditgw demo' to its first routed request.");
        command.Options.Add(runs);
        command.Options.Add(poll);
        command.Options.Add(timeout);
        command.Options.Add(gateway);
        command.SetAction(async (result, cancellationToken) =>
        {
            var dll = Gateway.Locate(result.GetValue(gateway));
            var count = Math.Clamp(result.GetValue(runs), 1, 100);
            var pollMs = Math.Clamp(result.GetValue(poll), 0, 1000);
            var bound = TimeSpan.FromSeconds(Math.Clamp(result.GetValue(timeout), 1, 600));
            Console.WriteLine($"startup: {dll}, {count} runs, probe every {pollMs} ms, bound {bound.TotalSeconds:F0} s");
            var routed = new List<double>();
            var listening = new List<double>();
            var first = new List<double>();
            for (var run = 1; run <= count; run++)
            {
                var (routedMs, listeningMs, firstMs, attempts) = await MeasureOnceAsync(dll, pollMs, bound, cancellationToken);
                routed.Add(routedMs);
                listening.Add(listeningMs);
                first.Add(firstMs);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  run {run}: first routed request {routedMs:F1} ms (listening line {listeningMs:F1} ms, that request took {firstMs:F1} ms, {attempts} probes)"));
            }

            Console.WriteLine($"first routed request: {Summary.Of(routed)}");
            Console.WriteLine($"listening line:       {Summary.Of(listening)}");
            Console.WriteLine($"first request itself: {Summary.Of(first)}");
            return 0;
        });
        return command;
    }

    private static async Task<(double Routed, double Listening, double FirstResponse, int Attempts)> MeasureOnceAsync(
        string dll, int pollMs, TimeSpan bound, CancellationToken cancellationToken)
    {
        var work = Directory.CreateTempSubdirectory("auditgw-startup-");
        try
        {
            var (listeners, http, _) = Gateway.ListenerArguments();
            using var client = Gateway.Client();
            var uri = new Uri($"http://127.0.0.1:{http}/");
            await using var process = GatewayProcess.Start(
                dll, ["demo", "--manifests", Path.Combine(work.FullName, "manifests"), .. listeners], work.FullName);
            var attempts = 0;
            while (Stopwatch.GetElapsedTime(process.StartedAt) < bound)
            {
                cancellationToken.ThrowIfCancellationRequested();
                attempts++;
                var sentAt = Stopwatch.GetTimestamp();
                if (await IsRoutedAsync(client, uri, cancellationToken))
                {
                    var routedAt = Stopwatch.GetTimestamp();
                    var listeningAt = await process.WaitListeningAsync(TimeSpan.FromSeconds(5));
                    return (Stopwatch.GetElapsedTime(process.StartedAt, routedAt).TotalMilliseconds,
                        Stopwatch.GetElapsedTime(process.StartedAt, listeningAt).TotalMilliseconds,
                        Stopwatch.GetElapsedTime(sentAt, routedAt).TotalMilliseconds,
                        attempts);
                }

                if (process.HasExited)
                {
                    throw new InvalidOperationException($"auditgw demo exited before routing a request:\n{process.Tail()}");
                }

                await Task.Delay(pollMs, cancellationToken);
            }

            throw new TimeoutException($"no routed request within {bound.TotalSeconds:F0} s:\n{process.Tail()}");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>True when the gateway answered with the shop's web backend (not a 404 or 503 of its own).</summary>
    private static async Task<bool> IsRoutedAsync(HttpClient client, Uri uri, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Host = ShopHost;
        try
        {
            using var response = await client.SendAsync(request, cancellationToken);
            return response.StatusCode == HttpStatusCode.OK
                && response.Headers.TryGetValues("X-Backend", out var backend) && backend.Contains("shop-web");
        }
        catch (HttpRequestException)
        {
            return false; // Not listening yet.
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false; // Listening but not answering within the client timeout.
        }
    }
}
