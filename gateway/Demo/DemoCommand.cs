using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using AuditGateway.Hosting;
using AuditGateway.Proxy;

namespace AuditGateway.Demo;

/// <summary>
/// <c>auditgw demo</c>: three echo backends on loopback, example manifests pointing at them (routes,
/// a JWT-protected one, an IP-restricted one, a report-only one), a demo JWT issuer and admin token,
/// and a gateway on the default ports; a prober from another loopback address gets itself blocked;
/// then it prints the dashboard's URL and login, and what to try.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var directory = new Option<string>("--manifests") { Description = "Where to write the example manifests (default ./auditgw-data/demo-manifests)" };
        var http = new Option<string>("--http") { Description = "Plain HTTP listener (default 127.0.0.1:8080)" };
        var https = new Option<string>("--https") { Description = "TLS listener (default 127.0.0.1:8443)" };
        var admin = new Option<string>("--admin") { Description = "Admin listener (default 127.0.0.1:9090)" };
        var command = new Command("demo", "Run the gateway with example manifests and demo backends on loopback.");
        command.Options.Add(directory);
        command.Options.Add(http);
        command.Options.Add(https);
        command.Options.Add(admin);
        command.SetAction(async (result, cancellationToken) =>
        {
            var defaults = new GatewayOptions();
            var manifests = Path.GetFullPath(result.GetValue(directory) ?? Path.Combine(defaults.Data, "demo-manifests"));
            var now = TimeProvider.System.GetUtcNow();
            DemoSetup setup;
            try
            {
                setup = DemoSetup.Write(Path.GetFullPath(defaults.Data), now);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                await Console.Error.WriteLineAsync($"auditgw: cannot write the demo's keys and configuration under {defaults.Data}: {e.Message}");
                return 1;
            }

            await using var web = await EchoBackend.StartAsync("shop-web", cancellationToken: cancellationToken);
            await using var api = await EchoBackend.StartAsync("shop-api", cancellationToken: cancellationToken);
            await using var vault = await EchoBackend.StartAsync("vault", cancellationToken: cancellationToken);
            DemoManifests.Write(manifests, web.Port, api.Port, vault.Port, now);
            GatewayOptions Options() => defaults with
            {
                Manifests = manifests,
                Http = result.GetValue(http) is { } h ? GatewayOptions.ParseEndpoint("--http", h) : defaults.Http,
                Https = result.GetValue(https) is { } s ? GatewayOptions.ParseEndpoint("--https", s) : defaults.Https,
                Admin = result.GetValue(admin) is { } a ? GatewayOptions.ParseEndpoint("--admin", a) : defaults.Admin,
                Config = setup.ConfigPath,
                File = ConfigFile.Load(setup.ConfigPath),
            };
            return await RunCommand.RunAsync(Options, cancellationToken, gateway => StartedAsync(gateway, manifests, setup, cancellationToken));
        });
        return command;
    }

    /// <summary>Lets the prober get itself blocked, finds a request of it to prove, starts its repeats, and prints what to try.</summary>
    private static async Task StartedAsync(GatewayApp gateway, string manifests, DemoSetup setup, CancellationToken cancellationToken)
    {
        var options = gateway.Services.GetRequiredService<GatewayOptions>();
        var ports = gateway.Ports;
        var logger = gateway.Services.GetRequiredService<ILoggerFactory>().CreateLogger<DemoProber>();
        var prober = new DemoProber(Local(options.Http, ports.Http), logger);
        long? provable = null;
        if (await prober.ProbeAsync(cancellationToken))
        {
            using var api = new DemoAdminApi(Local(options.Admin, ports.Admin), setup.AdminToken);
            try
            {
                provable = await api.ProvableRequestFromAsync(DemoProber.Address, TimeSpan.FromSeconds(10), TimeProvider.System, cancellationToken);
            }
            catch (HttpRequestException)
            {
                // The search refused (a damaged log, say): the banner names the first entry instead; verify will say what is wrong.
            }

            var stopping = gateway.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            _ = prober.RepeatAsync(DemoSetup.BlockFor, TimeProvider.System, stopping).ContinueWith(_ => prober.Dispose(), TaskScheduler.Default);
        }
        else
        {
            prober.Dispose();
        }

        await Console.Out.WriteLineAsync(Banner(ports, manifests, options.Data, setup, provable));
    }

    private static string Banner(ListenerPorts p, string manifests, string dataDirectory, DemoSetup setup, long? provable)
    {
        var shop = $"-H 'Host: {DemoManifests.ShopHost}'";
        var secure = DemoManifests.SecureHost;
        var gateway = $"http://127.0.0.1:{p.Http}";
        var admin = $"http://127.0.0.1:{p.Admin}";
        var adminToken = Typed(setup.AdminTokenFile);
        var bearer = $"-H \"Authorization: Bearer $(cat {adminToken})\"";
        var auditgw = Launcher();
        var data = $"--data {Typed(dataDirectory)}";
        var blockFor = (int)DemoSetup.BlockFor.TotalMinutes;
        var proof = provable is { } seq
            ? ($"{auditgw} proof inclusion {data} --seq {seq}", "the prober's first request is in the signed tree")
            : ($"{auditgw} proof inclusion {data} --seq 0", "the log's first entry is in the signed tree");
        return string.Create(CultureInfo.InvariantCulture, $"""

            AuditGateway demo is running.

            Dashboard: {admin}/   (docs/dashboard.md)
              log in with the operator token {setup.AdminToken}
              (stored in {adminToken}; the admin API takes it too, as in the curl lines below)

            Routes (manifests in {Typed(manifests)}: edit them, changes apply live):

              {Commands(
                ($"curl {shop} {gateway}/", "shop-web"),
                ($"curl {shop} {gateway}/api/orders", "shop-api (Prefix /api)"),
                ($"curl {shop} {gateway}/apiary", "shop-web: /api matches by path element"),
                ($"curl -i -H 'Host: {secure}' {gateway}/", "308 to HTTPS"),
                ($"curl -k --resolve {secure}:{p.Https}:127.0.0.1 https://{secure}:{p.Https}/", "vault, over TLS (SNI)"),
                ($"curl -i {gateway}/", "404: no rule for this host"),
                ($"curl {bearer} {admin}/api/routes", "the route table in force"))}

            Policy (account.yaml, admin.yaml and reports.yaml in the manifests):

              {Commands(
                ($"curl {shop} -H \"Authorization: Bearer $(cat {Typed(setup.UserTokenFile)})\" {gateway}{DemoManifests.JwtPath}",
                    string.Create(CultureInfo.InvariantCulture, $"200: a JWT for {DemoSetup.Subject}, valid until {setup.UserTokenExpires:yyyy-MM-dd HH:mm} UTC")),
                ($"curl -i {shop} {gateway}{DemoManifests.JwtPath}", "401: no JWT"),
                ($"curl {shop} {gateway}{DemoManifests.RestrictedPath}", $"200: only {DemoManifests.AllowedSource} is admitted"),
                ($"curl -i --interface 127.0.0.2 {shop} {gateway}{DemoManifests.RestrictedPath}", "403: from 127.0.0.2"),
                ($"curl {shop} {gateway}{DemoManifests.ReportOnlyPath}", "200, report-only: logged as would-deny (no JWT)"))}

            Probing: the demo's prober at {DemoProber.Address} asked for {string.Join(", ", DemoProber.Paths)} and is blocked
            for {blockFor} minutes (it probes again whenever its block ends):

              {Commands(($"curl {bearer} {admin}/api/blocks", "the block, with its evidence"))}

            Probe paths block whoever asks for them: from 127.0.0.1 that is you, for {blockFor} minutes (15 outside the demo).
            Probe from another address instead, and unblock an address with the admin token:

              {Commands(
                ($"curl -i --interface 127.0.0.7 {shop} {gateway}/.env", "blocks 127.0.0.7, not you"),
                ($"curl -X DELETE {bearer} {admin}/api/blocks/127.0.0.7", "unblocks it (audited); 127.0.0.1 if you blocked yourself"))}

            (--interface 127.0.0.x works on Linux; elsewhere only 127.0.0.1 may exist.)

            The tamper-evident log holds every request above, every manifest change and every block:

              {Commands(
                ($"{auditgw} report {data} --by route", "per route: requests, statuses, denials, latency"),
                ($"{auditgw} search {data} --client {DemoProber.Address}", "the prober's requests, each with its seq"),
                ($"{auditgw} search {data} --identity {DemoSetup.Subject}", "the requests made with the JWT"),
                ($"{auditgw} search {data} --decision would-deny", "what report-only let through"),
                ($"{auditgw} verify {data}", "OK entries=… checkpoints=… root=…"),
                proof,
                ($"{auditgw} tail {data}", "one line per entry"),
                ($"{auditgw} report {data} --format html --out report.html", "the report as a page with charts"))}

            Press Ctrl+C to stop.
            """);
    }

    /// <summary>Commands, indented, with their comments lined up; a very long command keeps its comment close.</summary>
    private static string Commands(params (string Command, string Comment)[] lines)
    {
        const int widest = 100;
        var width = lines.Select(l => l.Command.Length).Where(n => n <= widest).DefaultIfEmpty(0).Max();
        return string.Join("\n  ", lines.Select(l => $"{l.Command.PadRight(width)}   # {l.Comment}"));
    }

    /// <summary>Where the demo itself reaches a listener: its address (loopback when it listens on every address) and bound port.</summary>
    private static Uri Local(IPEndPoint configured, int? bound)
    {
        var address = configured.Address.Equals(IPAddress.Any) || configured.Address.Equals(IPAddress.IPv6Any) ? IPAddress.Loopback : configured.Address;
        return new Uri($"http://{new IPEndPoint(address, bound ?? configured.Port)}/");
    }

    /// <summary>A path as it can be typed here: relative when it is below the current directory, else absolute.</summary>
    private static string Typed(string path)
    {
        var full = Path.GetFullPath(path);
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, full);
        return relative == ".." || relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal) || Path.IsPathRooted(relative) ? full : relative;
    }

    /// <summary>How to run auditgw from here: the checkout's <c>auditgw</c> launcher when this build lives in a checkout, else the command on the PATH.</summary>
    private static string Launcher()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var launcher = Path.Combine(dir.FullName, "auditgw");
            if (File.Exists(launcher) && File.Exists(Path.Combine(dir.FullName, "AuditGateway.sln")))
            {
                var typed = Typed(launcher);
                return typed.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal) ? typed : "./" + typed;
            }
        }

        return "auditgw";
    }
}
