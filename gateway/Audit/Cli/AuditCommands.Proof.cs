using System.CommandLine;
using System.Text.Json;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Storage;
using AuditGateway.Audit.Verification;

namespace AuditGateway.Audit.Cli;

internal static partial class AuditCommands
{
    private static Command Proof()
    {
        var command = new Command("proof", "Merkle proofs (RFC 6962) from the log, as JSON.");

        var data = DataOption();
        var seq = new Option<long>("--seq") { Description = "The entry to prove.", Required = true };
        var size = new Option<long?>("--size") { Description = "The tree size (default: the latest checkpoint's)." };
        var inclusion = new Command("inclusion", "Prove that entry --seq is in the tree of size --size.");
        inclusion.Options.Add(data);
        inclusion.Options.Add(seq);
        inclusion.Options.Add(size);
        inclusion.SetAction((r, ct) => Guard(r, "proof inclusion", () =>
        {
            var dataDirectory = r.GetValue(data)!;
            var treeSize = r.GetValue(size) ?? LatestSize(dataDirectory);
            var proof = LogProver.Inclusion(dataDirectory, r.GetValue(seq), treeSize, Sha256Selection.Select(Sha256Choice.Auto).Sha256);
            var json = InclusionProofJson.From(proof, dataDirectory);
            r.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(json, ProofJsonContext.Default.InclusionProofJson));
            return Intact;
        }));

        var data2 = DataOption();
        var from = new Option<long>("--from") { Description = "The older tree size.", Required = true };
        var to = new Option<long>("--to") { Description = "The newer tree size.", Required = true };
        var consistency = new Command("consistency", "Prove that the tree of size --from is a prefix of the tree of size --to.");
        consistency.Options.Add(data2);
        consistency.Options.Add(from);
        consistency.Options.Add(to);
        consistency.SetAction((r, ct) => Guard(r, "proof consistency", () =>
        {
            var proof = LogProver.Consistency(r.GetValue(data2)!, r.GetValue(from), r.GetValue(to), Sha256Selection.Select(Sha256Choice.Auto).Sha256);
            var json = ConsistencyProofJson.From(proof);
            r.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(json, ProofJsonContext.Default.ConsistencyProofJson));
            return Intact;
        }));

        command.Subcommands.Add(inclusion);
        command.Subcommands.Add(consistency);
        return command;
    }

    private static long LatestSize(string dataDirectory)
    {
        var path = LogLayout.LatestCheckpoint(dataDirectory);
        var latest = File.Exists(path) ? CheckpointStore.TryRead(path, out _) : null;
        return latest?.Checkpoint.Size ?? throw new InvalidOperationException("there is no checkpoint yet: pass --size");
    }
}
