using System.CommandLine;
using AuditGateway.Audit.Cli;
using AuditGateway.Hosting;
using AuditGateway.Reports;

namespace AuditGateway;

/// <summary>The auditgw command line. Usage errors print one line and exit with code 2.</summary>
internal static class CommandLine
{
    public const int UsageError = 2;

    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("AuditGateway: an auditing Kubernetes ingress controller.");
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(Demo.DemoCommand.Create());
        // tail --redis reads the entry streams and verify --redis the witnessed checkpoints through Redis/, which Audit/ may not use: passed in here.
        foreach (var command in AuditCommands.Create(TimeProvider.System, Redis.StreamTail.RunAsync, Redis.WitnessCheck.FetchAsync, RollupCheck.Create))
        {
            root.Subcommands.Add(command);
        }

        root.Subcommands.Add(Search.SearchCommand.Create(TimeProvider.System));
        // The report verb sits beside the log's verbs; it lives in Reports/, which Audit/ may not use.
        root.Subcommands.Add(ReportCommand.Create(TimeProvider.System));
        root.Subcommands.Add(RollupCommand.Create());

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            await Console.Error.WriteLineAsync($"auditgw: {parse.Errors[0].Message}");
            return UsageError;
        }

        return await parse.InvokeAsync();
    }
}
