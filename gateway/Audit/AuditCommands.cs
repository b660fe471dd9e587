using System.CommandLine;

namespace AuditGateway.Audit;

/// <summary>The log's verbs: verify, proof, tail, keygen. Added to the root command by the host.</summary>
internal static class AuditCommands
{
    public static IEnumerable<Command> Create() => [];
}
