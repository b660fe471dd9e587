using AuditGateway.Audit;
using AuditGateway.Audit.Entries;

namespace AuditGateway.Policy;

/// <summary>
/// Turns every block and unblock into a <c>security</c> entry: who or which detector, why, until when.
/// Blocks are audited from <see cref="Start"/> on: call it once the log is open, before any request.
/// </summary>
internal sealed class BlockAuditor(IBlockList blocks, IAuditLog log) : IDisposable
{
    private int _started;

    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            blocks.Changed += OnChanged;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _started, 0) == 1)
        {
            blocks.Changed -= OnChanged;
        }
    }

    private void OnChanged(object? sender, BlockChange change)
    {
        var entry = change.Entry;
        var blocked = change.Kind == BlockChangeKind.Blocked;
        var evidence = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["detector"] = entry.Detector,
            ["evidence"] = entry.Evidence,
            ["blockedAt"] = entry.BlockedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        };

        // With replicas (docs/replicas.md): which node detected the block, and on which node an unblock was made.
        if (entry.Node is { } detectedOn)
        {
            evidence["detectedOn"] = detectedOn;
        }

        if (!blocked && change.Node is { } changedOn)
        {
            evidence["changedOn"] = changedOn;
        }

        var body = new SecurityBody
        {
            Action = blocked ? SecurityAction.Blocked : SecurityAction.Unblocked,
            Subject = entry.Address.ToString(),
            By = blocked ? entry.Detector : change.By,
            Reason = blocked ? $"probe detection: {entry.Detector}" : $"unblocked by {change.By}",
            Until = blocked ? entry.ExpiresAt : null,
            Evidence = evidence,
        };

        // The request path must not wait on disk: the entry is queued like a request entry.
        var pending = log.EnqueueAsync(new AuditEntry(change.At, body), CancellationToken.None);
        if (!pending.IsCompletedSuccessfully)
        {
            _ = pending.AsTask();
        }
    }
}
