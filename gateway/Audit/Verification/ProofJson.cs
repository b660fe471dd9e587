using System.Text.Json.Serialization;

namespace AuditGateway.Audit.Verification;

/// <summary>The JSON printed by <c>auditgw proof inclusion</c> (fields documented in README.md).</summary>
internal sealed record InclusionProofJson(long LeafIndex, long TreeSize, string LeafHash, string RootHash, IReadOnlyList<string> Proof, string Entry, string? Checkpoint)
{
    /// <summary>The proof as JSON, with the signed checkpoint of its tree size when the data directory holds one.</summary>
    public static InclusionProofJson From(InclusionProof proof, string dataDirectory)
    {
        var checkpointPath = Storage.LogLayout.CheckpointPath(dataDirectory, proof.TreeSize);
        return new InclusionProofJson(
            proof.LeafIndex,
            proof.TreeSize,
            Convert.ToHexStringLower(proof.LeafHash),
            Convert.ToHexStringLower(proof.RootHash),
            [.. proof.Proof.Select(Convert.ToHexStringLower)],
            proof.Entry,
            File.Exists(checkpointPath) ? File.ReadAllText(checkpointPath) : null);
    }
}

/// <summary>The JSON printed by <c>auditgw proof consistency</c>.</summary>
internal sealed record ConsistencyProofJson(long Size1, long Size2, string Root1, string Root2, IReadOnlyList<string> Proof)
{
    public static ConsistencyProofJson From(ConsistencyProof proof) => new(
        proof.Size1,
        proof.Size2,
        Convert.ToHexStringLower(proof.Root1),
        Convert.ToHexStringLower(proof.Root2),
        [.. proof.Proof.Select(Convert.ToHexStringLower)]);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(InclusionProofJson))]
[JsonSerializable(typeof(ConsistencyProofJson))]
internal sealed partial class ProofJsonContext : JsonSerializerContext;
