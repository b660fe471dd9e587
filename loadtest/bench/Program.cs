using BenchmarkDotNet.Running;

namespace AuditGateway.Bench;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "enqueue-latency")
        {
            return await EnqueueLatency.RunAsync(args.Skip(1).ToArray());
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
