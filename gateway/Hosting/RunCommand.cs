using System.CommandLine;
using AuditGateway.Configuration;
using AuditGateway.ControlPlane.Sources;

namespace AuditGateway.Hosting;

/// <summary>
/// <c>auditgw run</c>: every option also comes from <c>AUDITGW_&lt;NAME&gt;</c> and the config file,
/// in that order of precedence after the command line.
/// </summary>
internal static class RunCommand
{
    private static readonly Option<string> Manifests = new("--manifests") { Description = "Embedded mode: load and watch every *.yaml/*.yml/*.json below DIR" };
    private static readonly Option<string> Kubeconfig = new("--kubeconfig") { Description = "Cluster mode: the kubeconfig file" };
    private static readonly Option<string> Data = new("--data") { Description = "Log segments, checkpoints, keys and state (default ./auditgw-data)" };
    private static readonly Option<string> Http = new("--http") { Description = "Plain HTTP listener HOST:PORT (default 127.0.0.1:8080)" };
    private static readonly Option<string> Https = new("--https") { Description = "TLS listener HOST:PORT (default 127.0.0.1:8443)" };
    private static readonly Option<string> Admin = new("--admin") { Description = "Admin API HOST:PORT (default 127.0.0.1:9090)" };
    private static readonly Option<string> Config = new("--config") { Description = "The YAML configuration file" };
    private static readonly Option<string> IngressClass = new("--ingress-class") { Description = "IngressClass name handled (default auditgateway)" };
    private static readonly Option<string> ControllerName = new("--controller-name") { Description = "spec.controller of the IngressClass handled" };
    private static readonly Option<string> PublishService = new("--publish-service") { Description = "Cluster mode: Ingress status from this Service's addresses (NS/NAME)" };
    private static readonly Option<string> PublishAddress = new("--publish-address") { Description = "Cluster mode: Ingress status is this IP address or host name" };
    private static readonly Option<string> ElectionId = new("--election-id") { Description = "Cluster mode: the Lease for leader election (default auditgateway-leader)" };
    private static readonly Option<string> Namespace = new("--namespace") { Description = "Cluster mode: namespace of the Lease and Events (default: the pod's, else the kubeconfig context's)" };
    private static readonly Option<bool?> WithoutClass = new("--watch-ingress-without-class") { Description = "Also handle Ingresses that name no class" };

    public static Command Create()
    {
        var command = new Command("run", "Run the gateway.");
        foreach (var option in (Option[])[Manifests, Kubeconfig, Data, Http, Https, Admin, Config, IngressClass, ControllerName, WithoutClass, PublishService, PublishAddress, ElectionId, Namespace])
        {
            command.Options.Add(option);
        }

        command.SetAction((result, cancellationToken) => RunAsync(() => Bind(result, Environment.GetEnvironmentVariable), cancellationToken));
        return command;
    }

    /// <summary>Starts a gateway from options and runs it until Ctrl+C or SIGTERM. Bad input exits 2.</summary>
    public static async Task<int> RunAsync(Func<GatewayOptions> options, CancellationToken cancellationToken, Func<GatewayApp, Task>? started = null)
    {
        GatewayApp gateway;
        try
        {
            gateway = await GatewayApp.StartAsync(options(), cancellationToken: cancellationToken);
        }
        catch (Exception e) when (e is OptionException or ManifestException)
        {
            await Console.Error.WriteLineAsync($"auditgw: {e.Message}");
            return CommandLine.UsageError;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            // The data directory (full, read-only, not ours) or a damaged log: one line, no stack trace.
            await Console.Error.WriteLineAsync($"auditgw: cannot start: {e.Message}");
            return 1;
        }

        await using (gateway)
        {
            var ports = gateway.Ports;
            var resolved = gateway.Services.GetService(typeof(GatewayOptions)) as GatewayOptions;
            await Console.Out.WriteLineAsync(
                $"auditgw: listening http={resolved!.Http.Address}:{ports.Http} https={resolved.Https.Address}:{ports.Https} admin={resolved.Admin.Address}:{ports.Admin} revision={gateway.Routing.Current.Revision}");
            if (started is not null)
            {
                await started(gateway);
            }

            await gateway.WaitForShutdownAsync(cancellationToken);
        }

        return 0;
    }

    /// <summary>Command line, then <c>AUDITGW_*</c>, then the config file, then defaults.</summary>
    internal static GatewayOptions Bind(ParseResult result, Func<string, string?> environment)
    {
        string? Pick(Option<string> option, string? fromFile)
        {
            var name = option.Name.TrimStart('-');
            return result.GetValue(option)
                ?? environment("AUDITGW_" + name.Replace('-', '_').ToUpperInvariant())
                ?? fromFile;
        }

        var configPath = result.GetValue(Config) ?? environment("AUDITGW_CONFIG");
        var file = configPath is null ? new ConfigFile() : ConfigFile.Load(configPath);
        var defaults = new GatewayOptions();
        var withoutClassText = environment("AUDITGW_WATCH_INGRESS_WITHOUT_CLASS");
        bool? withoutClassEnv = withoutClassText switch
        {
            null => null,
            "true" or "1" => true,
            "false" or "0" => false,
            _ => throw new OptionException($"AUDITGW_WATCH_INGRESS_WITHOUT_CLASS '{withoutClassText}': expected true or false"),
        };

        var http = Pick(Http, file.Http);
        var https = Pick(Https, file.Https);
        var admin = Pick(Admin, file.Admin?.Listen);
        var manifests = Pick(Manifests, file.Manifests);
        var kubeconfig = Pick(Kubeconfig, file.Kubeconfig);
        var publishService = Pick(PublishService, file.PublishService);
        if (publishService is not null && publishService.Split('/') is not [{ Length: > 0 }, { Length: > 0 }])
        {
            throw new OptionException($"--publish-service '{publishService}': expected NAMESPACE/NAME");
        }

        // docs/configuration.md: the plain HTTP listener binds every address in cluster mode, unless given.
        var cluster = manifests is null && (kubeconfig is not null || !string.IsNullOrEmpty(environment("KUBERNETES_SERVICE_HOST")));
        return new GatewayOptions
        {
            Manifests = manifests,
            Kubeconfig = kubeconfig,
            PublishService = publishService,
            PublishAddress = Pick(PublishAddress, file.PublishAddress),
            ElectionId = Pick(ElectionId, file.ElectionId) ?? defaults.ElectionId,
            Namespace = Pick(Namespace, file.Namespace),
            Data = Pick(Data, file.Data) ?? defaults.Data,
            Http = http is not null ? GatewayOptions.ParseEndpoint("--http", http)
                : cluster ? new System.Net.IPEndPoint(System.Net.IPAddress.Any, 8080) : defaults.Http,
            Https = https is null ? defaults.Https : GatewayOptions.ParseEndpoint("--https", https),
            Admin = admin is null ? defaults.Admin : GatewayOptions.ParseEndpoint("--admin", admin),
            Config = configPath,
            File = file,
            IngressClass = Pick(IngressClass, file.IngressClass) ?? defaults.IngressClass,
            ControllerName = Pick(ControllerName, file.ControllerName) ?? defaults.ControllerName,
            WatchIngressWithoutClass = result.GetValue(WithoutClass) ?? withoutClassEnv ?? file.WatchIngressWithoutClass ?? false,
        };
    }
}
