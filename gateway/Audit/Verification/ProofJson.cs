using System.Text.Json.Serialization;

namespace AuditGateway.Audit.Verification;

/// <summary>The JSON printed by <c>auditgw proof inclusion</c> (fields documented in README.md).</summary>
internal sealed record InclusionProofJson(long LeafIndex, long TreeSize, string LeafHash, string RootHash, IReadOnlyList<string> Proof, string Entry, string? Checkpoint);

/// <summary>The JSON printed by <c>auditgw proof consistency</c>.</summary>
internal sealed record ConsistencyProofJson(long Size1, long Size2, string Root1, string Root2, IReadOnlyList<string> Proof);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(InclusionProofJson))]
[JsonSerializable(typeof(ConsistencyProofJson))]
internal sealed partial class ProofJsonContext : JsonSerializerContext;
