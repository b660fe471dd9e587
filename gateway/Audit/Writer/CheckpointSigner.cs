using AuditGateway.Audit.Notes;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Writer;

/// <summary>
/// Signs checkpoints of the durable tree into <c>checkpoints/</c>: at most one per checkpoint
/// interval while entries arrive, never two for one size. The writer passes only its durable size
/// and root, so no checkpoint covers an entry that is not yet fsynced.
/// </summary>
internal sealed class CheckpointSigner(AuditOptions options, NoteSigner signer, SignedCheckpoint? latest) : IDisposable
{
    private readonly TimeProvider _time = options.TimeProvider;
    private long _lastAt = options.TimeProvider.GetTimestamp();
    private SignedCheckpoint? _latest = latest;

    /// <summary>The newest signed checkpoint, or null before the first.</summary>
    public SignedCheckpoint? Latest => Volatile.Read(ref _latest);

    /// <summary>Raised on the writer's thread with every checkpoint once it is stored (<see cref="ISignedCheckpoints"/>).</summary>
    public event Action<SignedCheckpoint>? Signed;

    /// <summary>How long until the next checkpoint may be signed; zero or less: now.</summary>
    public TimeSpan DueIn => options.CheckpointInterval - _time.GetElapsedTime(_lastAt);

    /// <summary>True when entries are durable that no checkpoint covers yet.</summary>
    public bool IsBehind(long durableSize) => durableSize > (_latest?.Checkpoint.Size ?? 0);

    /// <summary>Signs and stores the checkpoint of the tree of <paramref name="size"/> entries with <paramref name="root"/>, unless there is one.</summary>
    public void Sign(long size, byte[] root)
    {
        _lastAt = _time.GetTimestamp();
        if (size == 0 || size == _latest?.Checkpoint.Size)
        {
            return;
        }

        var checkpoint = new Checkpoint(options.Origin, size, root);
        var signed = new SignedCheckpoint(checkpoint, signer.Sign(checkpoint.ToText()));
        CheckpointStore.Write(options.DataDirectory, signed);
        Volatile.Write(ref _latest, signed);
        Signed?.Invoke(signed);
    }

    public void Dispose() => signer.Dispose();
}
