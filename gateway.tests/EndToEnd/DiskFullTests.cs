using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using AuditGateway.Tests.Audit;
using AuditGateway.Tests.Common;
using Xunit.Abstractions;

namespace AuditGateway.Tests.EndToEnd;

/// <summary>
/// Guarantee 5 on a real file system that fills up under load: no request is answered by a backend
/// without its entry, the gateway answers 503 "audit log unavailable" while the volume is full, says
/// so once in its log and on <c>/readyz</c>, and serves again by itself once there is room.
/// </summary>
public sealed class DiskFullTests(ITestOutputHelper output)
{
    private const int Clients = 16;

    [SmallVolumeFact]
    public async Task A_full_data_volume_under_load_refuses_instead_of_forwarding_unaudited_and_resumes_by_itself()
    {
        using var volume = SmallVolume.Mount(32L << 20);
        await using var gateway = new TestGateway { DataDirectory = Path.Combine(volume.Path, "data") };
        await gateway.AddBackendsAsync("shop");
        gateway.WriteManifest("shop.yaml", Manifests.Documents(
            gateway.ServiceFor("shop"),
            Manifests.Ingress("shop", [new HostRule("shop.test", new PathRule("/", "Prefix", "shop", 80))])));
        await gateway.StartAsync();

        // Each client records the request id of every 2xx/3xx answer (the backend echoes it) and counts the gateway's refusals.
        var answered = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
        var unexpected = new ConcurrentQueue<string>();
        long refused = 0, answeredAfterFull = 0;
        var full = false;
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            using var client = gateway.CreateClient();
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var url = string.Create(CultureInfo.InvariantCulture, $"http://shop.test/item/{c}/{i}?page=2");
                using var response = await client.GetAsync(new Uri(url), CancellationToken.None);
                if ((int)response.StatusCode is >= 200 and < 400)
                {
                    var echo = await TestGateway.ReadEchoAsync(response, url);
                    answered[echo.Headers["x-request-id"]] = 0;
                    if (Volatile.Read(ref full))
                    {
                        Interlocked.Increment(ref answeredAfterFull);
                    }
                }
                else if (response.StatusCode == HttpStatusCode.ServiceUnavailable && TestGateway.Reason(response) == "audit log unavailable")
                {
                    Interlocked.Increment(ref refused);
                }
                else
                {
                    unexpected.Enqueue($"{(int)response.StatusCode} {TestGateway.Reason(response)}");
                }
            }
        })).ToArray();

        bool Broken() => !unexpected.IsEmpty || load.Any(t => t.IsFaulted);
        await Eventually.TrueAsync(() => answered.Count >= 2000 || Broken(), TimeSpan.FromSeconds(60), "2000 answers before the volume fills");

        // Leave less room than the writer keeps in reserve: the log itself fills the volume.
        var ballast = volume.Fill(leave: 2 << 20);
        Volatile.Write(ref full, true);
        output.WriteLine($"filled: {volume.Free} bytes free after {answered.Count} answers");
        await Eventually.TrueAsync(() => Interlocked.Read(ref refused) >= 500 || Broken(), TimeSpan.FromSeconds(90), "the gateway to refuse once the log cannot grow");

        var readiness = await gateway.Client.GetAsync(gateway.AdminUri("/readyz"));
        var body = await readiness.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, readiness.StatusCode);
        Assert.Contains("\"logWritable\": false", body, StringComparison.Ordinal);
        Assert.Contains("No space left on device", body, StringComparison.Ordinal);
        Assert.Contains("full", body, StringComparison.Ordinal);

        // Room again: serving resumes without a restart.
        File.Delete(ballast);
        var refusedBefore = Interlocked.Read(ref refused);
        var resumedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        var answersAtResume = answered.Count;
        await Eventually.TrueAsync(() => answered.Count >= answersAtResume + 1000 || Broken(), TimeSpan.FromSeconds(30), "answers again once there is room");
        output.WriteLine($"serving again {System.Diagnostics.Stopwatch.GetElapsedTime(resumedAt).TotalMilliseconds:0} ms after the room returned");

        await stop.CancelAsync();
        await Task.WhenAll(load);
        await gateway.DisposeAsync();

        Assert.True(unexpected.IsEmpty, $"unexpected answers: {string.Join(" | ", unexpected.Take(5))}");
        var entries = AuditLogFiles.ReadEntries(gateway.DataDirectory);
        var logged = entries
            .Where(e => e.GetProperty("kind").GetString() == "request" && e.GetProperty("request").GetProperty("status").GetInt32() is >= 200 and < 400)
            .Select(e => e.GetProperty("request").GetProperty("id").GetString()!)
            .ToHashSet(StringComparer.Ordinal);
        output.WriteLine($"{answered.Count} answered 2xx/3xx ({Interlocked.Read(ref answeredAfterFull)} after the fill), {refused} refused, {logged.Count} in the log");

        var unaudited = answered.Keys.Where(id => !logged.Contains(id)).ToList();
        Assert.True(unaudited.Count == 0, $"{unaudited.Count} requests were answered 2xx/3xx without an entry, e.g. {string.Join(", ", unaudited.Take(5))}");
        Assert.Equal(answered.Count, logged.Count);

        var resumed = Assert.Single(entries, e => e.GetProperty("kind").GetString() == "lifecycle" && e.GetProperty("lifecycle").GetProperty("event").GetString() == "resumed");
        var outage = resumed.GetProperty("lifecycle").GetProperty("outage");
        // Every refusal the clients saw is counted (but for one per client racing the end of the outage).
        var counted = outage.GetProperty("refusedRequests").GetInt64();
        Assert.InRange(Interlocked.Read(ref refused) - counted, 0, Clients);
        Assert.True(counted >= refusedBefore - Clients, $"{counted} refusals counted, {refusedBefore} seen before room returned");
        Assert.Equal(0, outage.GetProperty("lostEntries").GetInt64());
        Assert.Contains("No space left on device", outage.GetProperty("reason").GetString(), StringComparison.Ordinal);

        Assert.Single(gateway.Logs.Containing(LogLevel.Error, "The audit log cannot be written"));
        Assert.Empty(gateway.Logs.Containing(LogLevel.Error, "unhandled exception"));
        Assert.Equal(0, (await AuditTestKit.VerifyAsync(gateway.DataDirectory)).ExitCode);
    }
}
