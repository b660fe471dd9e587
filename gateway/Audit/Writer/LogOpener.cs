using System.Security.Cryptography;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Notes;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Writer;

/// <summary>What opening found: the signer, the newest checkpoint and the log's recovered state.</summary>
internal sealed record OpenedLog(NoteSigner Signer, SignedCheckpoint? Latest, RecoveredLog Recovered);

/// <summary>
/// Opens the log's files for the writer: creates the directories, loads the signing key (generating
/// one when there is none), finds the newest checkpoint, recovers the log's state and refuses a log
/// that does not agree with that checkpoint; only then cuts a torn tail, so a refused log is left as it was.
/// </summary>
internal static partial class LogOpener
{
    public static OpenedLog Open(AuditOptions options, ISha256 sha, ILogger logger)
    {
        var data = options.DataDirectory;
        Directory.CreateDirectory(LogLayout.LogDirectory(data));
        Directory.CreateDirectory(LogLayout.CheckpointDirectory(data));
        var signer = new NoteSigner(options.Origin, LoadOrCreateKey(options, logger));
        try
        {
            // The newest of latest and the numbered files: a replaced or lost latest must not hide a newer checkpoint.
            var latestPath = LogLayout.LatestCheckpoint(data);
            var latest = File.Exists(latestPath) ? ReadCheckpoint(latestPath) : null;
            if (LogLayout.Checkpoints(data) is [.., var newest] && newest.FirstSeq > (latest?.Checkpoint.Size ?? 0))
            {
                latest = ReadCheckpoint(newest.Path);
            }

            var recovered = LogRecovery.Recover(data, latest?.Checkpoint.Size ?? -1, sha, logger);
            if (latest is { Checkpoint: var cp })
            {
                if (cp.Size > recovered.Size)
                {
                    // Signed entries were durable: a crash cannot have torn them, so an unreadable tail reaching back into them is not cut.
                    throw new InvalidDataException(recovered.TruncatedBytes > 0
                        ? $"{recovered.LastSegment?.Path}: the lines from byte {recovered.LastSegmentBytes} on are unreadable, but the last checkpoint covers "
                            + $"{cp.Size} entries and only {recovered.Size} read before them; not cutting signed entries: the log is damaged "
                            + "or was written by another version of auditgw, run 'auditgw verify'"
                        : $"the log has {recovered.Size} entries but the last checkpoint covers {cp.Size}: entries were lost or removed; refusing to sign");
                }

                if (cp.Size > 0 && !CryptographicOperations.FixedTimeEquals(cp.Root, recovered.RootAtCheckpoint))
                {
                    throw new InvalidDataException(
                        $"the log's first {cp.Size} entries do not match the last checkpoint's root; refusing to sign an inconsistent tree");
                }
            }

            LogRecovery.CutTornTail(recovered);
            return new OpenedLog(signer, latest, recovered);
        }
        catch
        {
            signer.Dispose();
            throw;
        }
    }

    private static SignedCheckpoint ReadCheckpoint(string path) =>
        CheckpointStore.TryRead(path, out var error) ?? throw new InvalidDataException($"{path}: {error}; refusing to sign over it");

    private static ECDsa LoadOrCreateKey(AuditOptions options, ILogger logger)
    {
        var path = options.ResolvedSigningKeyPath;
        if (File.Exists(path))
        {
            return SigningKeys.Load(path);
        }

        var key = SigningKeys.Generate();
        SigningKeys.WritePair(key, path);
        Log.GeneratedSigningKey(logger, path);
        return key;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "No audit signing key was configured; generated a new ECDSA P-256 key at {Path}. Keep it safe and give auditors its public key.")]
        public static partial void GeneratedSigningKey(ILogger logger, string path);
    }
}
