using System.CommandLine;
using AuditGateway.Hosting;

namespace AuditGateway.Demo;

/// <summary>
/// <c>auditgw demo</c>: three echo backends on loopback, example manifests pointing at them,
/// and a gateway on the default ports; prints what to try.
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
            var manifests = Path.GetFullPath(result.GetValue(directory) ?? Path.Combine("auditgw-data", "demo-manifests"));
            await using var web = await EchoBackend.StartAsync("shop-web", cancellationToken: cancellationToken);
            await using var api = await EchoBackend.StartAsync("shop-api", cancellationToken: cancellationToken);
            await using var vault = await EchoBackend.StartAsync("vault", cancellationToken: cancellationToken);
            DemoManifests.Write(manifests, web.Port, api.Port, vault.Port, TimeProvider.System.GetUtcNow());
            var defaults = new GatewayOptions();
            GatewayOptions Options() => defaults with
            {
                Manifests = manifests,
                Http = result.GetValue(http) is { } h ? GatewayOptions.ParseEndpoint("--http", h) : defaults.Http,
                Https = result.GetValue(https) is { } s ? GatewayOptions.ParseEndpoint("--https", s) : defaults.Https,
                Admin = result.GetValue(admin) is { } a ? GatewayOptions.ParseEndpoint("--admin", a) : defaults.Admin,
            };
            return await RunCommand.RunAsync(Options, cancellationToken, gateway => PrintTryThis(gateway, manifests));
        });
        return command;
    }

    private static Task PrintTryThis(GatewayApp gateway, string manifests)
    {
        var p = gateway.Ports;
        var shop = DemoManifests.ShopHost;
        var secure = DemoManifests.SecureHost;
        var options = (GatewayOptions)gateway.Services.GetService(typeof(GatewayOptions))!;
        // As typed from here: the demo runs in the directory it was started from.
        var data = Path.GetRelativePath(Environment.CurrentDirectory, Path.GetFullPath(options.Data));
        var token = Path.Combine(data, GatewaySettings.GeneratedAdminTokenFile);
        var auditgw = Launcher();
        return Console.Out.WriteLineAsync($"""

            AuditGateway demo is running. Manifests: {Path.GetRelativePath(Environment.CurrentDirectory, manifests)} (edit them; changes apply live)

              curl -H 'Host: {shop}' http://127.0.0.1:{p.Http}/                 # shop-web
              curl -H 'Host: {shop}' http://127.0.0.1:{p.Http}/api/orders       # shop-api (Prefix /api)
              curl -H 'Host: {shop}' http://127.0.0.1:{p.Http}/apiary           # shop-web: /api matches by path element
              curl -i -H 'Host: {secure}' http://127.0.0.1:{p.Http}/            # 308 to HTTPS
              curl -k --resolve {secure}:{p.Https}:127.0.0.1 https://{secure}:{p.Https}/   # vault, over TLS (SNI)
              curl -i http://127.0.0.1:{p.Http}/                                  # 404: no rule for this host
              curl -H "Authorization: Bearer $(cat {token})" http://127.0.0.1:{p.Admin}/api/routes   # the route table in force
              curl http://127.0.0.1:{p.Admin}/readyz

            Every request above, and every manifest change, is in the tamper-evident log:

              {auditgw} tail --data {data}
              {auditgw} verify --data {data}
              {auditgw} report --data {data}                          # per route: requests, statuses, denials, latency
              {auditgw} report --data {data} --format html --out report.html
              {auditgw} search --data {data} --status 404              # each with its seq, for 'proof inclusion --seq'
              curl -H "Authorization: Bearer $(cat {token})" http://127.0.0.1:{p.Admin}/api/log?status=404   # the same over the admin API

            Press Ctrl+C to stop.
            """);
    }

    /// <summary>How to run auditgw from here: the checkout's <c>auditgw</c> launcher when this build lives in a checkout, else the command on the PATH.</summary>
    private static string Launcher()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var launcher = Path.Combine(dir.FullName, "auditgw");
            if (File.Exists(launcher) && File.Exists(Path.Combine(dir.FullName, "AuditGateway.sln")))
            {
                var relative = Path.GetRelativePath(Environment.CurrentDirectory, launcher);
                return relative.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal) ? relative : "./" + relative;
            }
        }

        return "auditgw";
    }
}
