using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AuditGateway.Tests.Common;

/// <summary>
/// Several <c>auditgw run</c> child processes on loopback, one per node (<c>replica-a</c>, <c>-b</c>, …),
/// each with its own data directory, all reading the same manifests and sharing one Redis: the
/// deployment of docs/replicas.md on one machine. Each replica's stdout and stderr are kept for
/// assertions on its log lines.
/// </summary>
internal sealed class ReplicaSet : IAsyncDisposable
{
    public const string OperatorToken = "replica-operator-token";

    private readonly string _root = Directory.CreateTempSubdirectory("auditgw-replicas-").FullName;
    private readonly List<Replica> _replicas = [];

    public IReadOnlyList<Replica> Replicas => _replicas;

    public Replica this[int index] => _replicas[index];

    public string Manifests => Path.Combine(_root, "manifests");

    /// <summary>
    /// Starts <paramref name="count"/> replicas with <paramref name="manifests"/> and a config whose <c>redis:</c> section points at
    /// <paramref name="redisUrl"/> (with <paramref name="redisKeys"/>, more keys of that section, one per line); <paramref name="config"/> is more YAML at the top level.
    /// </summary>
    public static async Task<ReplicaSet> StartAsync(int count, string redisUrl, string manifests, string config = "", string redisKeys = "")
    {
        var set = new ReplicaSet();
        try
        {
            Directory.CreateDirectory(set.Manifests);
            await File.WriteAllTextAsync(Path.Combine(set.Manifests, "app.yaml"), manifests);
            var redis = string.Join('\n', new[] { $"  connection: \"{redisUrl}\"" }.Concat(redisKeys.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(k => "  " + k.Trim())));
            await Task.WhenAll(Enumerable.Range(0, count).Select(i => set.StartReplicaAsync($"replica-{(char)('a' + i)}", redis, config)));
            set._replicas.Sort((x, y) => string.CompareOrdinal(x.Node, y.Node));
            return set;
        }
        catch
        {
            await set.DisposeAsync();
            throw;
        }
    }

    private async Task StartReplicaAsync(string node, string redis, string config)
    {
        var directory = Directory.CreateDirectory(Path.Combine(_root, node)).FullName;
        var configFile = Path.Combine(directory, "gateway.yaml");
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(OperatorToken)));
        await File.WriteAllTextAsync(configFile, $"""
            redis:
            {redis}
            audit: {"{"} flushInterval: 10ms, checkpointInterval: 200ms {"}"}
            admin:
              tokens:
                - {"{"} name: ops, role: operator, sha256: "{hash}" {"}"}
            {config}
            """);
        var info = AuditgwProcess.StartInfo(
            "run", "--manifests", Manifests, "--config", configFile, "--data", Path.Combine(directory, "data"),
            "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0");
        info.Environment["AUDITGW_NODE"] = node;
        var replica = new Replica(node, Path.Combine(directory, "data"), Process.Start(info)!);
        lock (_replicas)
        {
            _replicas.Add(replica);
        }

        await replica.WaitListeningAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }

        Directory.Delete(_root, recursive: true);
    }

    /// <summary>One gateway process.</summary>
    internal sealed class Replica : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly List<string> _output = [];
        private readonly Dictionary<IPAddress, HttpClient> _clients = [];
        private readonly TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Replica(string node, string data, Process process)
        {
            Node = node;
            Data = data;
            _process = process;
            _process.OutputDataReceived += (_, e) => Collect(e.Data);
            _process.ErrorDataReceived += (_, e) => Collect(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Node { get; }

        public string Data { get; }

        public int HttpPort { get; private set; }

        public int AdminPort { get; private set; }

        /// <summary>Every line the process wrote so far (stdout and stderr).</summary>
        public IReadOnlyList<string> Output
        {
            get
            {
                lock (_output)
                {
                    return [.. _output];
                }
            }
        }

        public async Task WaitListeningAsync()
        {
            var exited = _process.WaitForExitAsync();
            var first = await Task.WhenAny(_listening.Task, exited, Task.Delay(TimeSpan.FromSeconds(60)));
            if (first != _listening.Task)
            {
                throw new InvalidOperationException($"{Node} did not start listening: " + string.Join('\n', Output));
            }

            // auditgw: listening http=127.0.0.1:PORT https=… admin=127.0.0.1:PORT revision=…
            var parts = (await _listening.Task).Split(' ');
            HttpPort = PortOf(parts, "http=");
            AdminPort = PortOf(parts, "admin=");
        }

        /// <summary>GET <paramref name="path"/> for host <paramref name="host"/> from the client address <paramref name="from"/>; the status code.</summary>
        public async Task<int> GetAsync(string host, string path, IPAddress from)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://127.0.0.1:{HttpPort}{path}"));
            request.Headers.Host = host;
            using var response = await Client(from).SendAsync(request);
            return (int)response.StatusCode;
        }

        /// <summary>An admin API call with the operator token; the status and body.</summary>
        public async Task<(int Status, string Body)> AdminAsync(HttpMethod method, string path)
        {
            using var request = new HttpRequestMessage(method, new Uri($"http://127.0.0.1:{AdminPort}{path}"));
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", OperatorToken);
            using var response = await Client(IPAddress.Loopback).SendAsync(request);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        /// <summary>The addresses of the clients blocked on this replica (<c>GET /api/blocks</c>).</summary>
        public async Task<HashSet<string>> BlockedAsync()
        {
            var (status, body) = await AdminAsync(HttpMethod.Get, "/api/blocks");
            Assert.Equal(200, status);
            using var document = JsonDocument.Parse(body);
            return [.. document.RootElement.EnumerateArray().Select(b => b.GetProperty("address").GetString()!)];
        }

        /// <summary>The entries written so far (the writer flushes every 10 ms).</summary>
        public List<JsonElement> Entries() => AuditLogFiles.ReadEntries(Data);

        /// <summary>SIGTERM and wait for a clean exit (a stop entry and a final checkpoint).</summary>
        public async Task StopAsync()
        {
            if (_process.HasExited)
            {
                return;
            }

            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(timeout.Token);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var client in _clients.Values)
            {
                client.Dispose();
            }

            try
            {
                await StopAsync();
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }

        private HttpClient Client(IPAddress from)
        {
            lock (_clients)
            {
                if (!_clients.TryGetValue(from, out var client))
                {
                    client = new HttpClient(new SocketsHttpHandler
                    {
                        UseProxy = false,
                        AllowAutoRedirect = false,
                        ConnectCallback = async (context, ct) =>
                        {
                            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                            try
                            {
                                socket.Bind(new IPEndPoint(from, 0));
                                await socket.ConnectAsync(new DnsEndPoint(context.DnsEndPoint.Host, context.DnsEndPoint.Port), ct);
                                return new NetworkStream(socket, ownsSocket: true);
                            }
                            catch
                            {
                                socket.Dispose();
                                throw;
                            }
                        },
                    }) { Timeout = TimeSpan.FromSeconds(30) };
                    _clients[from] = client;
                }

                return client;
            }
        }

        private void Collect(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.Add(line);
            }

            if (line.StartsWith("auditgw: listening ", StringComparison.Ordinal))
            {
                _listening.TrySetResult(line);
            }
        }

        private static int PortOf(string[] parts, string prefix)
        {
            var part = parts.Single(p => p.StartsWith(prefix, StringComparison.Ordinal));
            return int.Parse(part[(part.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
        }
    }
}
