using System.CommandLine;
using AuditGateway.LoadTest;

var root = new RootCommand("Measurement harness for the embedded AuditGateway (see loadtest/README.md).");
root.Subcommands.Add(StartupCommand.Create());
root.Subcommands.Add(ApplyLatencyCommand.Create());
root.Subcommands.Add(SoakCommand.Create());
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    await Console.Error.WriteLineAsync($"loadtest.harness: {parse.Errors[0].Message}");
    return 2;
}

return await parse.InvokeAsync();
