using System.Text.Json.Serialization;

namespace AuditGateway.Redis;

/// <summary>What replicas exchange through Redis: block records and webhook reports.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BlockRecord))]
[JsonSerializable(typeof(AttributionMessage))]
[JsonSerializable(typeof(string))]
internal sealed partial class ReplicaJsonContext : JsonSerializerContext;
