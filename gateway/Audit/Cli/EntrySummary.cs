using System.Globalization;
using System.Text;
using AuditGateway.Audit.Entries;

namespace AuditGateway.Audit.Cli;

/// <summary>What <c>auditgw tail</c> prints for an entry.</summary>
internal static class EntrySummary
{
    /// <summary>One line per entry: seq, time, kind, then the facts that matter for that kind.</summary>
    public static string Describe(LoggedEntry entry)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{entry.Seq,8} {entry.Timestamp.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'} {Name(EntryEncoder.KindNames, (int)entry.Kind),-9} ");
        switch (entry.Body)
        {
            case RequestBody r:
                sb.Append(CultureInfo.InvariantCulture, $"{r.Status} {Name(EntryEncoder.DecisionNames, (int)r.Decision.Decision)} {r.Method} {r.Scheme}://{r.Host}{r.Path}");
                if (r.Query is not null)
                {
                    sb.Append('?').Append(r.Query);
                }

                sb.Append(CultureInfo.InvariantCulture, $" client={r.Client.Ip} who={r.Identity.Subject ?? "-"} route={r.Route?.Id ?? "-"} {r.LatencyUs}us");
                if (r.Decision.Rule is not null)
                {
                    sb.Append(" rule=").Append(r.Decision.Rule);
                }

                foreach (var attempt in r.Attempts ?? [])
                {
                    sb.Append(" attempt=").Append(attempt.Destination).Append(attempt.Error is null ? "" : $"({attempt.Error})");
                }

                if (r.TraceId is not null)
                {
                    sb.Append(" trace=").Append(r.TraceId);
                }

                if (r.Grpc is { } grpc)
                {
                    sb.Append(CultureInfo.InvariantCulture, $" grpc={grpc.Status?.ToString(CultureInfo.InvariantCulture) ?? "-"} messages={grpc.MessagesIn}/{grpc.MessagesOut}");
                }

                break;
            case ConfigBody c:
                sb.Append(CultureInfo.InvariantCulture, $"{c.Operation} {c.Object.Kind} {c.Object.Namespace}/{c.Object.Name} by={c.Actor.Username ?? "-"} source={Name(EntryEncoder.ChangeSourceNames, (int)c.Source)} revision={c.RevisionAfter}");
                sb.Append(CultureInfo.InvariantCulture, $" +{c.Effect.Added.Count} -{c.Effect.Removed.Count} ~{c.Effect.Changed.Count}");
                if (c.Errors.Count > 0)
                {
                    sb.Append(" refused: ").AppendJoin("; ", c.Errors);
                }

                break;
            case SecurityBody s:
                sb.Append(CultureInfo.InvariantCulture, $"{Name(EntryEncoder.SecurityActionNames, (int)s.Action)} {s.Subject} by={s.By}");
                if (s.Reason is not null)
                {
                    sb.Append(" reason=").Append(s.Reason);
                }

                break;
            case LifecycleBody l:
                sb.Append(Name(EntryEncoder.LifecycleEventNames, (int)l.Event));
                if (l.Event == LifecycleEvent.Recovery)
                {
                    sb.Append(CultureInfo.InvariantCulture, $" cut {l.TruncatedBytes} bytes ({l.TruncatedLines} lines) from {l.Segment}");
                }

                if (l.Outage is { } o)
                {
                    sb.Append(CultureInfo.InvariantCulture, $" log unwritable {(o.Until - o.Since).TotalSeconds:0.###}s from {o.Since.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'} ({o.Reason}): refused={o.RefusedRequests} unaudited={o.UnauditedRequests} lost={o.LostEntries}");
                }

                if (l.Pruned is { } p)
                {
                    sb.Append(CultureInfo.InvariantCulture, $" seq {p.FromSeq}..{p.ToSeq} ({p.Segments.Count} segments, archived={(p.Archived ? "yes" : "no")})");
                }

                break;
        }

        return sb.ToString();
    }

    /// <summary>A value as the log spells it (<c>would-deny</c>, not <c>woulddeny</c>).</summary>
    private static string Name(byte[][] names, int value) => Encoding.UTF8.GetString(names[value]);
}
