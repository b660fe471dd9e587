using System.Text.Json.Serialization;

namespace AuditGateway.Audit.Entries;

/// <summary>
/// Source-generated JSON for reading log lines. Writing is done by <see cref="EntryEncoder"/>;
/// a line is valid only if what this context reads re-encodes to the same bytes.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowDuplicateProperties = false)]
[JsonSerializable(typeof(LogLine))]
[JsonSerializable(typeof(AuditKind))]
[JsonSerializable(typeof(Decision))]
[JsonSerializable(typeof(ActorSource))]
[JsonSerializable(typeof(ChangeSource))]
[JsonSerializable(typeof(SecurityAction))]
[JsonSerializable(typeof(LifecycleEvent))]
internal sealed partial class AuditJsonContext : JsonSerializerContext;

/// <summary>The shape of one log line as read: the envelope and one body, under the key named by its kind.</summary>
internal sealed record LogLine
{
    public required long Seq { get; init; }
    public required DateTimeOffset Ts { get; init; }
    public required AuditKind Kind { get; init; }
    public required string Node { get; init; }
    public required string Prev { get; init; }
    public RequestBody? Request { get; init; }
    public ConfigBody? Config { get; init; }
    public SecurityBody? Security { get; init; }
    public LifecycleBody? Lifecycle { get; init; }
}
