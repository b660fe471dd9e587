using System.CommandLine;
using AuditGateway.Audit.Notes;

namespace AuditGateway.Audit.Cli;

internal static partial class AuditCommands
{
    private static Command Keygen()
    {
        var output = new Option<string>("--out") { Description = "Directory for signing.pem and signing.pub.pem.", Required = true };
        var node = new Option<string>("--node") { Description = "The node id the key signs for (names the verifier key); default: this machine's name." };
        var command = new Command("keygen", "Generate an ECDSA P-256 signing key pair (PEM) for checkpoints.");
        command.Options.Add(output);
        command.Options.Add(node);
        command.SetAction((r, ct) => Guard(r, "keygen", () =>
        {
            var privatePath = Path.Combine(r.GetValue(output)!, SigningKeys.PrivateKeyFile);
            if (File.Exists(privatePath))
            {
                throw new IOException($"{privatePath} already exists; not overwriting a key");
            }

            using var key = SigningKeys.Generate();
            SigningKeys.WritePair(key, privatePath);
            using var verifier = NoteVerifier.FromPublicKey(Checkpoint.OriginOf(r.GetValue(node) ?? Environment.MachineName), key);
            var text = r.InvocationConfiguration.Output;
            text.WriteLine($"private key: {privatePath}");
            text.WriteLine($"public key:  {SigningKeys.PublicPathFor(privatePath)}");
            text.WriteLine($"verifier key: {verifier.VerifierKey}");
            return Intact;
        }));
        return command;
    }
}
