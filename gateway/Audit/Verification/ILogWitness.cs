using System.Security.Cryptography;
using AuditGateway.Audit.Hashing;

namespace AuditGateway.Audit.Verification;

/// <summary>A disagreement between a log and a witness of its checkpoints: the first seq concerned (null for a witnessed note that is not trusted) and why.</summary>
internal sealed record WitnessFinding(long? Seq, string Reason);

/// <summary>What a witness found; <see cref="Summary"/> goes on <c>verify</c>'s OK line when there is nothing.</summary>
internal sealed record WitnessReport(IReadOnlyList<WitnessFinding> Findings, string Summary);

/// <summary>
/// Checkpoints of a log kept outside its data directory, which <c>auditgw verify</c> checks the log
/// against after its own checks (<c>--redis</c>: the checkpoints each node publishes to Redis, from Redis/).
/// </summary>
internal interface ILogWitness
{
    /// <summary>Checks the log, after <c>verify</c> gave <paramref name="result"/>, against the witnessed checkpoints.</summary>
    WitnessReport Check(string dataDirectory, VerifyResult result, ECDsa publicKey, ISha256 sha);
}

/// <summary>
/// Reads the witness at <paramref name="url"/> for the log in <paramref name="dataDirectory"/>, before the
/// log is read; throws <see cref="IOException"/> when it does not answer.
/// </summary>
internal delegate Task<ILogWitness> LogWitnessSource(string url, string dataDirectory, ECDsa? publicKey);
