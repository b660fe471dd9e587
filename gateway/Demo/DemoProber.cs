using System.Net;
using System.Net.Sockets;

namespace AuditGateway.Demo;

/// <summary>
/// The demo's prober: from another loopback address (<see cref="Address"/>) it asks the gateway for
/// paths only scanners ask for, so probe detection blocks it — a block to look at that does not lock
/// out the user's own 127.0.0.1. It probes again each time its block has ended, so one is on show.
/// </summary>
internal sealed partial class DemoProber : IDisposable
{
    public static readonly IPAddress Address = IPAddress.Parse("127.0.0.66");

    public static readonly IReadOnlyList<string> Paths = ["/.env", "/wp-login.php", "/.git/config"];

    /// <summary>After a block has ended, the prober waits this much longer before it probes again.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(5);

    private readonly HttpClient _client;
    private readonly ILogger _logger;

    /// <param name="gateway">The gateway's plain HTTP listener.</param>
    public DemoProber(Uri gateway, ILogger logger)
    {
        _client = new HttpClient(From(Address)) { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(10) };
        _logger = logger;
    }

    /// <summary>A handler whose connections leave from <paramref name="local"/>, as <c>curl --interface</c> does.</summary>
    public static SocketsHttpHandler From(IPAddress local) => new()
    {
        UseProxy = false,
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(local.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(local, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    /// <summary>Asks for each probe path once; false (with a log line) when the gateway cannot be reached from <see cref="Address"/>.</summary>
    public async Task<bool> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (var path in Paths)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                request.Headers.Host = DemoManifests.ShopHost;
                request.Headers.UserAgent.ParseAdd("demo-prober/1.0");
                using var response = await _client.SendAsync(request, cancellationToken);
            }

            return true;
        }
        catch (Exception e) when (e is HttpRequestException or SocketException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            Log.Unreachable(_logger, Address, e.Message);
            return false;
        }
    }

    /// <summary>Probes again each time a block of <paramref name="blockFor"/> has ended, until <paramref name="cancellationToken"/> stops it.</summary>
    public async Task RepeatAsync(TimeSpan blockFor, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            do
            {
                await Task.Delay(blockFor + Slack, time, cancellationToken);
            }
            while (await ProbeAsync(cancellationToken));
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose() => _client.Dispose();

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Demo prober: cannot reach the gateway from {Address} ({Reason}); no block will be shown")]
        public static partial void Unreachable(ILogger logger, IPAddress address, string reason);
    }
}
