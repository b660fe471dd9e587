using System.CommandLine;
using System.Security.Cryptography;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Notes;
using AuditGateway.Audit.Storage;
using AuditGateway.Audit.Verification;

namespace AuditGateway.Audit.Cli;

internal static partial class AuditCommands
{
    private static Command Verify(IReadOnlyList<DerivedDataCheckFactory> checks, LogWitnessSource? witnessSource)
    {
        var data = DataOption();
        var publicKey = new Option<string>("--public-key") { Description = "PEM public key of the signer (default: keys/ in the data directory)." };
        var trusted = new Option<string>("--trusted-checkpoint") { Description = "A signed checkpoint saved earlier; catches truncation, rollback and forks." };
        var archive = new Option<string>("--archive") { Description = "audit.archive.dir: check the whole history across the data directory and the archive." };
        var redis = new Option<string>("--redis") { Description = "redis://… or rediss://… of the gateways' Redis: check the log against the checkpoints its node published there (truncation, rewrites, forks)." };
        var command = new Command("verify", "Check the whole log: canonical entries, seq, hash chain, signed checkpoints, and the rollups beside it. Exit 0 intact, 1 tampered, 2 error.");
        command.Options.Add(data);
        command.Options.Add(publicKey);
        command.Options.Add(trusted);
        command.Options.Add(archive);
        if (witnessSource is not null)
        {
            command.Options.Add(redis);
        }

        command.SetAction((r, ct) => Guard(r, "verify", async () =>
        {
            var dataDirectory = r.GetValue(data)!;
            using var key = LoadPublicKey(dataDirectory, r.GetValue(publicKey));
            var trustedCheckpoint = LoadTrusted(r.GetValue(trusted), key);
            var witness = r.GetValue(redis) is { } url ? await witnessSource!(url, dataDirectory, key) : null;
            var sha = Sha256Selection.Select(Sha256Choice.Auto).Sha256;
            var derived = checks.Select(c => c(dataDirectory)).ToList();
            try
            {
                return Run(r, new LogVerifier(dataDirectory, key, trustedCheckpoint, sha, r.GetValue(archive))
                {
                    OnRequest = derived.Count == 0 ? null : (in RequestFacts request) =>
                    {
                        foreach (var check in derived)
                        {
                            check.Add(request);
                        }
                    },
                    OnOther = derived.Count == 0 ? null : entry => derived.ForEach(d => d.Add(entry)),
                }, derived, witness is null ? null : result => witness.Check(dataDirectory, result, key!, sha));
            }
            finally
            {
                derived.ForEach(d => d.Dispose());
            }
        }));
        return command;
    }

    /// <summary>
    /// Runs <paramref name="verifier"/> (and disposes it), then the derived-data checks and, with <c>--redis</c>,
    /// the <paramref name="witness"/>; prints the verdict: one OK line, or a TAMPERED line for each problem.
    /// </summary>
    private static int Run(ParseResult r, LogVerifier verifier, List<IDerivedDataCheck> derived, Func<VerifyResult, WitnessReport>? witness)
    {
        using (verifier)
        {
            var result = verifier.Verify();
            var output = r.InvocationConfiguration.Output;
            string? problem = $"TAMPERED seq={result.BadSeq} reason={result.Reason}";
            var ok = result.Intact ? CheckDerived(result, derived, out problem) : null;
            if (ok is null)
            {
                output.WriteLine(problem);
            }

            // After a local problem too: a truncation shows as such even when the rollups are ahead of the cut log.
            var report = Witness(witness, result);
            foreach (var finding in report?.Findings ?? [])
            {
                output.WriteLine(finding.Seq is { } seq ? $"TAMPERED seq={seq} reason={finding.Reason}" : $"TAMPERED witness reason={finding.Reason}");
            }

            if (ok is null || report is { Findings.Count: > 0 })
            {
                return Tampered;
            }

            output.WriteLine(report is null ? ok : $"{ok} {report.Summary}");
            return Intact;
        }
    }

    /// <summary>The witness's report; when the log did not verify, one that cannot be made (the log is unreadable past the tampering) says so.</summary>
    private static WitnessReport? Witness(Func<VerifyResult, WitnessReport>? witness, VerifyResult result)
    {
        try
        {
            return witness?.Invoke(result);
        }
        catch (Exception e) when (!result.Intact && e is IOException or InvalidDataException)
        {
            return new WitnessReport([new WitnessFinding(null, $"the witnessed checkpoints cannot be checked against this log: {e.Message}")], "");
        }
    }

    /// <summary>The derived-data checks of a log that verified: the OK line, or null and the TAMPERED line of the first mismatch.</summary>
    private static string? CheckDerived(VerifyResult result, List<IDerivedDataCheck> derived, out string? problem)
    {
        problem = null;
        var summaries = new List<string>();
        foreach (var check in derived)
        {
            if (check.Finish(out var summary) is { } mismatch)
            {
                problem = $"TAMPERED seq={mismatch.Seq} reason={mismatch.Reason}";
                return null;
            }

            summaries.Add(summary);
        }

        var extra = string.Concat(summaries.Where(s => s.Length > 0).Select(s => " " + s));
        var torn = result.TornTailBytes > 0 ? $" torn-tail-bytes={result.TornTailBytes} (cut on next start)" : "";
        var notArchived = result.NotArchived > 0 ? $" not-yet-archived={result.NotArchived} (sealed segments after the archive's newest)" : "";
        var pruned = result.FirstSeq > 0 ? $" pruned-before={result.FirstSeq} (seqs 0..{result.FirstSeq - 1} are in the archive)" : "";
        return $"OK entries={result.Entries} checkpoints={result.Checkpoints} root={Convert.ToHexStringLower(result.Root)}{torn}{pruned}{notArchived}{extra}";
    }

    /// <summary>The signer's public key: <paramref name="path"/> (<c>--public-key</c>), else the one in the data directory's <c>keys/</c>; null when there is none.</summary>
    public static ECDsa? LoadPublicKey(string dataDirectory, string? path)
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
}
