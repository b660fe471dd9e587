using System.Text.Json.Serialization;

namespace AuditGateway.Audit.Entries;

/// <summary>
/// Source-generated JSON for the entry enums: their <c>JsonStringEnumMemberName</c>s are the one
/// source of the names <see cref="EntryEncoder"/> writes and <see cref="EntryReader"/> accepts.
/// </summary>
[JsonSerializable(typeof(AuditKind))]
[JsonSerializable(typeof(Decision))]
[JsonSerializable(typeof(ActorSource))]
[JsonSerializable(typeof(ChangeSource))]
[JsonSerializable(typeof(SecurityAction))]
[JsonSerializable(typeof(LifecycleEvent))]
internal sealed partial class AuditJsonContext : JsonSerializerContext;
