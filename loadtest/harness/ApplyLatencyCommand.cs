using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace AuditGateway.LoadTest;

/// <summary>
/// <c>apply-latency</c>: runs <c>auditgw run --manifests DIR</c> on generated manifests, edits one
/// file N times and, for each edit, measures from the moment just before the write to
/// (a) the first request routed by the new table and (b) <c>/readyz</c> reporting a new revision.
/// </summary>
internal static class ApplyLatencyCommand
{
    private const string Host = "apply.loadtest.local";

    private enum Mode
    {
        /// <summary>Each edit changes the Ingress path to <c>/edit-N</c>; routed = <c>GET /edit-N</c> answers 200.</summary>
        Path,

        /// <summary>Each edit moves the EndpointSlice to the other backend; routed = <c>X-Backend</c> names it.</summary>
        Backend,
    }

    private enum WriteStyle
    {
        /// <summary><c>File.WriteAllText</c> on the manifest: truncate, write, close.</summary>
        InPlace,

        /// <summary>Write a hidden temporary file beside it, then rename over it (how editors and most tools save).</summary>
        Rename,
    }

    private sealed record Edit(double Routed, double Revision, int Applies, bool TimedOut);

    public static Command Create()
    {
        var edits = new Option<int>("--edits") { Description = "How many edits", DefaultValueFactory = _ => 50 };
        var mode = new Option<Mode>("--mode") { Description = "path: change the Ingress path; backend: move the EndpointSlice port", DefaultValueFactory = _ => Mode.Path };
        var write = new Option<WriteStyle>("--write") { Description = "inplace: File.WriteAllText; rename: temporary file + rename", DefaultValueFactory = _ => WriteStyle.InPlace };
        var poll = new Option<int>("--poll-ms") { Description = "Pause between probes (0 = back to back)", DefaultValueFactory = _ => 1 };
        var gap = new Option<int>("--gap-ms") { Description = "Quiet time after an edit is observed, before the next", DefaultValueFactory = _ => 200 };
        var timeout = new Option<int>("--timeout-ms") { Description = "Give up on one edit after this long", DefaultValueFactory = _ => 3000 };
        var ingresses = new Option<int>("--ingresses")
        {
            Description = "Other Ingresses (each with its Service and EndpointSlice) in the manifest directory, 33 to a file; the edited one keeps its own file",
            DefaultValueFactory = _ => 0,
        };
        var gateway = new Option<string>("--gateway") { Description = "auditgw.dll (default: the repository's Release build)" };
        var command = new Command("apply-latency", "Time from a manifest write to the new routing being observable.");
        foreach (var option in (Option[])[edits, mode, write, poll, gap, timeout, ingresses, gateway])
        {
            command.Options.Add(option);
        }

        command.SetAction((result, cancellationToken) => RunAsync(
            Gateway.Locate(result.GetValue(gateway)),
            Math.Clamp(result.GetValue(edits), 1, 10_000),
            result.GetValue(mode),
            result.GetValue(write),
            Math.Clamp(result.GetValue(poll), 0, 100),
            Math.Clamp(result.GetValue(gap), 0, 10_000),
            TimeSpan.FromMilliseconds(Math.Clamp(result.GetValue(timeout), 10, 60_000)),
            Math.Clamp(result.GetValue(ingresses), 0, 1_000_000),
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(
        string dll, int count, Mode mode, WriteStyle style, int pollMs, int gapMs, TimeSpan bound, int others, CancellationToken cancellationToken)
    {
        var work = Directory.CreateTempSubdirectory("auditgw-apply-");
        try
        {
            await using var a = await TinyBackend.StartAsync("a", cancellationToken);
            await using var b = await TinyBackend.StartAsync("b", cancellationToken);
            var manifests = Directory.CreateDirectory(Path.Combine(work.FullName, "manifests")).FullName;
            var ingressFile = Path.Combine(manifests, "ingress.yaml");
            var serviceFile = Path.Combine(manifests, "service.yaml");
            File.WriteAllText(ingressFile, IngressYaml("/edit-0"));
            File.WriteAllText(serviceFile, ServiceYaml(a.Port));
            ScaleManifests.Write(manifests, others, a.Port);

            // The harness polls for routes that do not exist yet: to the gateway that is a client
            // scanning for paths, and probe detection would block it. It is switched off here.
            var config = Path.Combine(work.FullName, "gateway.yaml");
            File.WriteAllText(config, "policy:\n  probeDetection:\n    enabled: false\n");
            var (listeners, http, admin) = Gateway.ListenerArguments();
            await using var process = GatewayProcess.Start(dll, ["run", "--manifests", manifests, "--config", config, .. listeners], work.FullName);
            await process.WaitListeningAsync(TimeSpan.FromSeconds(120));
            using var client = Gateway.Client();
            var readyz = new Uri($"http://127.0.0.1:{admin}/readyz");
            var gatewayBase = $"http://127.0.0.1:{http}";
            if (!await ProbeAsync(client, new Uri(gatewayBase + "/edit-0"), "a", cancellationToken))
            {
                throw new InvalidOperationException($"the initial route does not answer:\n{process.Tail()}");
            }

            var ready = Stopwatch.GetElapsedTime(process.StartedAt);
            Console.WriteLine($"apply-latency: {dll}, {count} edits, mode {mode}, write {style}, probe every {pollMs} ms, {gapMs} ms between edits, "
                + $"{others + 1} Ingresses");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ready (process start to the edited route answering): {ready.TotalMilliseconds:F0} ms; "
                + $"RSS {Mib(process.Memory().RssKb)}"));
            var results = new List<Edit>();
            for (var i = 1; i <= count; i++)
            {
                var before = await RevisionAsync(client, readyz, cancellationToken);
                var appliesBefore = process.RouteTableChanges;
                var (file, text, probe, expect) = mode switch
                {
                    Mode.Path => (ingressFile, IngressYaml($"/edit-{i}"), new Uri($"{gatewayBase}/edit-{i}"), "a"),
                    _ => (serviceFile, ServiceYaml(i % 2 == 1 ? b.Port : a.Port), new Uri($"{gatewayBase}/edit"), i % 2 == 1 ? "b" : "a"),
                };

                var start = Stopwatch.GetTimestamp();
                Write(file, text, style);
                double? routed = null, revision = null;
                while ((routed is null || revision is null) && Stopwatch.GetElapsedTime(start) < bound)
                {
                    if (routed is null && await ProbeAsync(client, probe, expect, cancellationToken))
                    {
                        routed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    }

                    if (revision is null && await RevisionAsync(client, readyz, cancellationToken) != before)
                    {
                        revision = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    }

                    if (pollMs > 0)
                    {
                        await Task.Delay(pollMs, cancellationToken);
                    }
                }

                // Let the watcher's debounce settle, then count the table swaps this one edit caused.
                await Task.Delay(gapMs + Random.Shared.Next(0, 50), cancellationToken);
                var edit = new Edit(routed ?? double.NaN, revision ?? double.NaN, process.RouteTableChanges - appliesBefore, routed is null || revision is null);
                results.Add(edit);
                if (edit.TimedOut || edit.Applies != 1)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  edit {i}: routed {edit.Routed:F1} ms, revision {edit.Revision:F1} ms, {edit.Applies} table swaps{(edit.TimedOut ? ", TIMED OUT" : "")}"));
                }
            }

            var ok = results.Where(r => !r.TimedOut).ToList();
            Console.WriteLine($"new route answers:   {Summary.Of(ok.Select(r => r.Routed).ToList())}");
            Console.WriteLine($"/readyz revision:    {Summary.Of(ok.Select(r => r.Revision).ToList())}");
            Console.WriteLine($"timed out: {results.Count(r => r.TimedOut)}; edits with more than one table swap: {results.Count(r => r.Applies > 1)}; "
                + $"manifest errors logged by the gateway: {process.ManifestErrors}");
            var (rss, peak) = process.Memory();
            Console.WriteLine($"gateway memory: RSS {Mib(rss)} after the edits, peak (VmHWM) {Mib(peak)}; load average {File.ReadAllText("/proc/loadavg").Trim()}");
            return results.Any(r => r.TimedOut) ? 1 : 0;
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static string Mib(long kb) => string.Create(CultureInfo.InvariantCulture, $"{kb / 1024.0:F0} MiB");

    private static void Write(string path, string text, WriteStyle style)
    {
        if (style == WriteStyle.InPlace)
        {
            File.WriteAllText(path, text);
            return;
        }

        // A dot file that does not end in .yaml: the gateway ignores it but sees the events, as with editors.
        var temporary = Path.Combine(Path.GetDirectoryName(path)!, "." + Path.GetFileName(path) + ".tmp");
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>True when the gateway forwarded the request to the expected backend.</summary>
    private static async Task<bool> ProbeAsync(HttpClient client, Uri uri, string backend, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Host = Host;
        using var response = await client.SendAsync(request, cancellationToken);
        return response.StatusCode == HttpStatusCode.OK
            && response.Headers.TryGetValues("X-Backend", out var names) && names.Contains(backend);
    }

    private static async Task<string> RevisionAsync(HttpClient client, Uri readyz, CancellationToken cancellationToken)
    {
        await using var body = await client.GetStreamAsync(readyz, cancellationToken);
        using var json = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
        return json.RootElement.GetProperty("revision").GetString() ?? "";
    }

    private static string IngressYaml(string path) => $$"""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: apply
          namespace: loadtest
        spec:
          ingressClassName: auditgateway
          rules:
            - host: {{Host}}
              http:
                paths:
                  - path: {{path}}
                    pathType: Exact
                    backend:
                      service: { name: echo, port: { name: http } }
                  - path: /edit
                    pathType: Exact
                    backend:
                      service: { name: echo, port: { name: http } }
        """;

    /// <summary>Service <c>NS/NAME</c> (default <c>loadtest/echo</c>; port <c>http</c>, 80) with one EndpointSlice: 127.0.0.1:<paramref name="backendPort"/>.</summary>
    internal static string ServiceYaml(int backendPort, string name = "echo", string ns = "loadtest") => string.Create(CultureInfo.InvariantCulture, $$"""
        apiVersion: v1
        kind: Service
        metadata:
          name: {{name}}
          namespace: {{ns}}
        spec:
          ports:
            - name: http
              port: 80
              targetPort: {{backendPort}}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: {{name}}-1
          namespace: {{ns}}
          labels:
            kubernetes.io/service-name: {{name}}
        addressType: IPv4
        ports:
          - name: http
            port: {{backendPort}}
        endpoints:
          - addresses: [127.0.0.1]
            conditions: { ready: true }
        """);
}
