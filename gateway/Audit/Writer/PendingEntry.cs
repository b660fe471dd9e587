using AuditGateway.Audit.Entries;

namespace AuditGateway.Audit.Writer;

/// <summary>An entry on the writer's queue, with the waiter of a durable append (null for the request path).</summary>
internal readonly record struct PendingEntry(AuditEntry Entry, TaskCompletionSource<AuditReceipt>? Durable);
