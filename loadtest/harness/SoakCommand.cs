using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace AuditGateway.LoadTest;

/// <summary>
/// <c>soak</c>: the gateway at a steady request rate for a long time with small segments, so that
/// sealing, compression, archiving and pruning all run many times; then a clean stop and
/// <c>auditgw verify --data DIR --archive ADIR</c>. Reports the gateway's RSS over time, the bytes
/// per entry of the sealed segments on disk, and whether the whole history verifies.
/// </summary>
internal static partial class SoakCommand
{
    private const string Host = "soak.loadtest.local";

    public static Command Create()
    {
        var minutes = new Option<double>("--minutes") { Description = "How long to run the load", DefaultValueFactory = _ => 10 };
        var rate = new Option<int>("--rate") { Description = "Requests per second (paced, not as fast as possible)", DefaultValueFactory = _ => 1000 };
        var workers = new Option<int>("--workers") { Description = "Concurrent connections", DefaultValueFactory = _ => 32 };
        var segmentSize = new Option<string>("--segment-size") { Description = "audit.segmentSize", DefaultValueFactory = _ => "4MiB" };
        var segmentAge = new Option<string>("--segment-age") { Description = "audit.segmentAge", DefaultValueFactory = _ => "1m" };
        var retain = new Option<string>("--retain") { Description = "audit.retain.maxAge", DefaultValueFactory = _ => "3m" };
        var gateway = new Option<string>("--gateway") { Description = "auditgw.dll (default: the repository's Release build)" };
        var command = new Command("soak", "Steady load for minutes with small segments: RSS, bytes per entry, verify --archive.");
        foreach (var option in (Option[])[minutes, rate, workers, segmentSize, segmentAge, retain, gateway])
        {
            command.Options.Add(option);
        }

        command.SetAction((result, cancellationToken) => RunAsync(
            Gateway.Locate(result.GetValue(gateway)),
            TimeSpan.FromMinutes(Math.Clamp(result.GetValue(minutes), 0.1, 24 * 60)),
            Math.Clamp(result.GetValue(rate), 1, 100_000),
            Math.Clamp(result.GetValue(workers), 1, 1024),
            result.GetValue(segmentSize)!,
            result.GetValue(segmentAge)!,
            result.GetValue(retain)!,
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(
        string dll, TimeSpan duration, int rate, int workers, string segmentSize, string segmentAge, string retain, CancellationToken cancellationToken)
    {
        var work = Directory.CreateTempSubdirectory("auditgw-soak-");
        try
        {
            await using var backend = await TinyBackend.StartAsync("soak", cancellationToken);
            var manifests = Directory.CreateDirectory(Path.Combine(work.FullName, "manifests")).FullName;
            File.WriteAllText(Path.Combine(manifests, "service.yaml"), ApplyLatencyCommand.ServiceYaml(backend.Port));
            File.WriteAllText(Path.Combine(manifests, "ingress.yaml"), IngressYaml);
            var data = Path.Combine(work.FullName, "data");
            var archive = Path.Combine(work.FullName, "archive");
            var config = Path.Combine(work.FullName, "gateway.yaml");
            File.WriteAllText(config, $"""
                policy:
                  probeDetection:
                    enabled: false
                audit:
                  segmentSize: {segmentSize}
                  segmentAge: {segmentAge}
                  archive: {"{"} dir: {archive} {"}"}
                  retain: {"{"} maxAge: {retain} {"}"}
                """);

            var (listeners, http, _) = Gateway.ListenerArguments();
            await using var process = GatewayProcess.Start(dll, ["run", "--manifests", manifests, "--data", data, "--config", config, .. listeners], work.FullName);
            await process.WaitListeningAsync(TimeSpan.FromSeconds(60));
            var target = new Uri($"http://127.0.0.1:{http}/soak");
            Console.WriteLine($"soak: {dll}; {rate} requests/s on {workers} connections for {duration.TotalMinutes:0.#} min; segmentSize {segmentSize}, segmentAge {segmentAge}, retain.maxAge {retain}, archive on");

            var load = new PacedLoad(target, Host, rate, workers);
            var samples = new List<(double Minutes, long RssKb, Disk Disk, long Sent)>();
            var started = Stopwatch.GetTimestamp();
            var running = load.RunAsync(duration, cancellationToken);
            while (!running.IsCompleted)
            {
                await Task.WhenAny(running, Task.Delay(TimeSpan.FromSeconds(30), cancellationToken));
                var sample = (Stopwatch.GetElapsedTime(started).TotalMinutes, process.Memory().RssKb, Disk.Of(data, archive), load.Sent);
                samples.Add(sample);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {sample.Item1,5:0.0} min  rss {sample.Item2 / 1024.0,7:0.0} MiB  sent {sample.Item4,9}  local {sample.Item3.LocalRaw / 1048576.0,7:0.0} MiB raw + {sample.Item3.LocalCompressed / 1048576.0,6:0.0} MiB zst in {sample.Item3.LocalSegments,3} segments  archive {sample.Item3.ArchiveCompressed / 1048576.0,6:0.0} MiB in {sample.Item3.ArchiveSegments,3}"));
            }

            var stats = await running;
            var exit = await process.TerminateAsync(TimeSpan.FromSeconds(60));
            var disk = Disk.Of(data, archive);
            var verify = Verify(dll, data, archive);
            var local = Verify(dll, data, null);

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"requests: {stats.Ok} answered 2xx, {stats.Failed} failed, latency {Summary.Of(stats.LatenciesMs)}"));
            Console.WriteLine($"gateway exit code after SIGTERM: {exit}");
            var warm = samples.Where(s => s.Minutes >= 1).Select(s => s.RssKb).DefaultIfEmpty(samples.FirstOrDefault().RssKb).ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rss: first after warm-up {warm[0] / 1024.0:0.0} MiB, max {warm.Max() / 1024.0:0.0} MiB, last {warm[^1] / 1024.0:0.0} MiB (last/first {(double)warm[^1] / warm[0]:0.00})"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"on disk: {disk.ArchiveEntries} entries in {disk.ArchiveSegments} archived sealed segments, {disk.ArchiveCompressed} bytes: {disk.BytesPerArchivedEntry:0.0} bytes per entry; local {disk.LocalSegments} segments ({disk.LocalRaw} raw + {disk.LocalCompressed} compressed bytes)"));
            Console.WriteLine($"verify --archive: exit {verify.Code}");
            Console.WriteLine(verify.Output.TrimEnd());
            Console.WriteLine($"verify (the data directory alone, from its pruned start): exit {local.Code}");
            Console.WriteLine(local.Output.TrimEnd());
            var pruned = local.Output.Contains("pruned-before=", StringComparison.Ordinal);
            Console.WriteLine(pruned ? "pruning ran: the data directory begins after seq 0" : "pruning did not run (retain longer than the soak?)");
            var (lines, entries) = CompressorComparison.Sample(archive);
            CompressorComparison.Report(lines, entries, stats.Ok / duration.TotalSeconds);
            return exit == 0 && verify.Code == 0 && local.Code == 0 && stats.Failed == 0 ? 0 : 1;
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static (int Code, string Output) Verify(string dll, string data, string? archive)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])[dll, "verify", "--data", data, .. archive is null ? (string[])[] : ["--archive", archive]])
        {
            info.ArgumentList.Add(argument);
        }

        using var verify = Process.Start(info)!;
        var output = verify.StandardOutput.ReadToEndAsync();
        var error = verify.StandardError.ReadToEnd();
        verify.WaitForExit();
        return (verify.ExitCode, output.Result + error);
    }

    private const string IngressYaml = $$"""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: soak
          namespace: loadtest
        spec:
          ingressClassName: auditgateway
          rules:
            - host: {{Host}}
              http:
                paths:
                  - path: /
                    pathType: Prefix
                    backend:
                      service: { name: echo, port: { name: http } }
        """;

    [GeneratedRegex(@"^(\d{12})\.jsonl(\.zst)?$")]
    private static partial Regex SegmentName();

    /// <summary>The segments of the data directory and the archive: counts and sizes; entries per sealed segment from consecutive first seqs.</summary>
    private sealed record Disk(int LocalSegments, long LocalRaw, long LocalCompressed, int ArchiveSegments, long ArchiveCompressed, long ArchiveEntries)
    {
        public double BytesPerArchivedEntry => ArchiveEntries == 0 ? double.NaN : (double)ArchiveCompressed / ArchiveEntries;

        public static Disk Of(string data, string archive)
        {
            var local = Segments(Path.Combine(data, "log"));
            var archived = Segments(archive);
            var firsts = local.Concat(archived).Select(s => s.FirstSeq).Distinct().Order().ToList();
            long archiveEntries = 0;
            foreach (var segment in archived.Where(s => s.Compressed))
            {
                var next = firsts.FirstOrDefault(f => f > segment.FirstSeq, -1);
                archiveEntries += next < 0 ? 0 : next - segment.FirstSeq;
            }

            return new Disk(
                local.Count,
                local.Where(s => !s.Compressed).Sum(s => s.Bytes),
                local.Where(s => s.Compressed).Sum(s => s.Bytes),
                archived.Count(s => s.Compressed),
                archived.Where(s => s.Compressed).Sum(s => s.Bytes),
                archiveEntries);
        }

        private static List<(long FirstSeq, bool Compressed, long Bytes)> Segments(string directory)
        {
            if (!Directory.Exists(directory))
            {
                return [];
            }

            var found = new List<(long, bool, long)>();
            foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
            {
                try
                {
                    if (SegmentName().Match(Path.GetFileName(file)) is { Success: true } match)
                    {
                        found.Add((long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), match.Groups[2].Success, new FileInfo(file).Length));
                    }
                }
                catch (FileNotFoundException)
                {
                    // Compressed and removed while we looked.
                }
            }

            return found;
        }
    }
}
