namespace AuditGateway.Audit;

/// <summary>The writer's I/O steps, each of which can fail.</summary>
internal enum WriteStep
{
    /// <summary>Reserving space ahead of the segment's end (fallocate).</summary>
    Reserve,

    /// <summary>Writing a batch.</summary>
    Write,

    /// <summary>Fsyncing the segment.</summary>
    Sync,

    /// <summary>Creating the next segment.</summary>
    Roll,

    /// <summary>Storing a signed checkpoint.</summary>
    Checkpoint,
}

/// <summary>
/// Failures injected before a step, as the operating system would report them (ENOSPC, EIO,
/// EROFS, a failed fsync): the writer's handling of each is tested without a broken disk.
/// Null in production.
/// </summary>
internal interface IWriteFaults
{
    /// <summary>Throws the failure planned for <paramref name="step"/>, if any.</summary>
    void Before(WriteStep step);
}
