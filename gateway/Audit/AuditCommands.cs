using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using AuditGateway.Audit.Notes;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit;

/// <summary>The log's verbs: verify, proof, tail, keygen (and the hidden audit-load). Added to the root command by the host.</summary>
internal static partial class AuditCommands
{
    public const int Intact = 0;
    public const int Tampered = 1;
    public const int UsageError = 2;

    public static IEnumerable<Command> Create() => Create(TimeProvider.System);

    /// <summary>The verbs, with <paramref name="time"/> for <c>tail --follow</c>'s polling and <c>audit-load</c>'s timestamps.</summary>
    public static IEnumerable<Command> Create(TimeProvider time) => [Verify(), Proof(), Tail(time), Keygen(), Load(time)];

    private static Option<string> DataOption() => new("--data")
    {
        Description = "The gateway's data directory (log/, checkpoints/, keys/).",
        Required = true,
    };

    private static Command Verify()
    {
        var data = DataOption();
        var publicKey = new Option<string>("--public-key") { Description = "PEM public key of the signer (default: keys/ in the data directory)." };
        var trusted = new Option<string>("--trusted-checkpoint") { Description = "A signed checkpoint saved earlier; catches truncation, rollback and forks." };
        var command = new Command("verify", "Check the whole log: canonical entries, seq, hash chain, signed checkpoints. Exit 0 intact, 1 tampered, 2 error.");
        command.Options.Add(data);
        command.Options.Add(publicKey);
        command.Options.Add(trusted);
        command.SetAction((r, ct) => Guard(r, "verify", () =>
        {
            var dataDirectory = r.GetValue(data)!;
            using var key = LoadPublicKey(dataDirectory, r.GetValue(publicKey));
            var trustedCheckpoint = LoadTrusted(r.GetValue(trusted), key);
            using var verifier = new LogVerifier(dataDirectory, key, trustedCheckpoint);
            var result = verifier.Verify();
            var output = r.InvocationConfiguration.Output;
            if (!result.Intact)
            {
                output.WriteLine($"TAMPERED seq={result.BadSeq} reason={result.Reason}");
                return Tampered;
            }

            var torn = result.TornTailBytes > 0 ? $" torn-tail-bytes={result.TornTailBytes} (cut on next start)" : "";
            output.WriteLine($"OK entries={result.Entries} checkpoints={result.Checkpoints} root={Convert.ToHexStringLower(result.Root)}{torn}");
            return Intact;
        }));
        return command;
    }

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
            var proof = LogProver.Inclusion(dataDirectory, r.GetValue(seq), treeSize);
            var checkpointPath = LogLayout.CheckpointPath(dataDirectory, treeSize);
            var json = new InclusionProofJson(
                proof.LeafIndex,
                proof.TreeSize,
                Convert.ToHexStringLower(proof.LeafHash),
                Convert.ToHexStringLower(proof.RootHash),
                [.. proof.Proof.Select(Convert.ToHexStringLower)],
                proof.Entry,
                File.Exists(checkpointPath) ? File.ReadAllText(checkpointPath) : null);
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
            var proof = LogProver.Consistency(r.GetValue(data2)!, r.GetValue(from), r.GetValue(to));
            var json = new ConsistencyProofJson(
                proof.Size1,
                proof.Size2,
                Convert.ToHexStringLower(proof.Root1),
                Convert.ToHexStringLower(proof.Root2),
                [.. proof.Proof.Select(Convert.ToHexStringLower)]);
            r.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(json, ProofJsonContext.Default.ConsistencyProofJson));
            return Intact;
        }));

        command.Subcommands.Add(inclusion);
        command.Subcommands.Add(consistency);
        return command;
    }

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

    /// <summary>Runs a verb body, turning I/O and input problems into one line on stderr and exit code 2.</summary>
    private static Task<int> Guard(ParseResult result, string verb, Func<int> body) =>
        Guard(result, verb, () => Task.FromResult(body()));

    private static async Task<int> Guard(ParseResult result, string verb, Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException
            or InvalidOperationException or ArgumentException or InvalidDataException or CryptographicException)
        {
            var message = ex is ArgumentException { ParamName: { } name } ? ex.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : ex.Message;
            await result.InvocationConfiguration.Error.WriteLineAsync($"auditgw {verb}: {message}");
            return UsageError;
        }
    }

    private static ECDsa? LoadPublicKey(string dataDirectory, string? path)
    {
        if (path is not null)
        {
            return SigningKeys.Load(path);
        }

        var keys = LogLayout.KeysDirectory(dataDirectory);
        foreach (var candidate in new[] { SigningKeys.PublicKeyFile, SigningKeys.PrivateKeyFile })
        {
            var file = Path.Combine(keys, candidate);
            if (File.Exists(file))
            {
                return SigningKeys.Load(file);
            }
        }

        return null;
    }

    private static SignedCheckpoint? LoadTrusted(string? path, ECDsa? key)
    {
        if (path is null)
        {
            return null;
        }

        var trusted = CheckpointStore.TryRead(path, out var error) ?? throw new FormatException($"{path}: {error}");
        if (key is null)
        {
            throw new InvalidOperationException("--trusted-checkpoint needs the signer's public key: pass --public-key");
        }

        using var verifier = NoteVerifier.FromPublicKey(trusted.Checkpoint.Origin, key);
        return verifier.Verify(trusted.Note)
            ? trusted
            : throw new FormatException($"{path}: the signature does not verify with the public key");
    }

    private static long LatestSize(string dataDirectory)
    {
        var path = LogLayout.LatestCheckpoint(dataDirectory);
        var latest = File.Exists(path) ? CheckpointStore.TryRead(path, out _) : null;
        return latest?.Checkpoint.Size ?? throw new InvalidOperationException("there is no checkpoint yet: pass --size");
    }

}
