using AuditGateway.Audit.Hashing;

namespace AuditGateway.Audit;

/// <summary>What the gateway does with a request while the log cannot be written (<c>audit.onWriteFailure</c>).</summary>
internal enum WriteFailureMode
{
    /// <summary>Answer 503 with <c>X-AuditGateway-Reason: audit log unavailable</c>; forward nothing.</summary>
    Reject,

    /// <summary>Forward unaudited, counted in <c>auditgw_unaudited_requests_total</c> and in a security entry once the log is back.</summary>
    Serve,
}

/// <summary>How the audit log is written (the <c>audit:</c> section of the configuration, plus <c>--data</c>).</summary>
internal sealed record AuditOptions
{
    /// <summary>The <c>--data</c> directory: <c>log/</c>, <c>checkpoints/</c>, <c>keys/</c>.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>This node's name; the checkpoint origin is <c>auditgateway/&lt;node&gt;</c>.</summary>
    public required string NodeId { get; init; }

    /// <summary>The longest a request entry waits before it is fsynced: the most a crash may lose.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How often a new signed checkpoint is written while entries arrive.</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>PEM PKCS#8 ECDSA P-256 key; relative to <see cref="DataDirectory"/>; generated there when absent.</summary>
    public string SigningKeyPath { get; init; } = Path.Combine("keys", Notes.SigningKeys.PrivateKeyFile);

    /// <summary>Entries that may wait for the writer before producers feel back-pressure.</summary>
    public int QueueCapacity { get; init; } = 65_536;

    /// <summary>A segment is closed after this many entries.</summary>
    public long SegmentMaxEntries { get; init; } = 1_000_000;

    public const long DefaultSegmentBytes = 256L * 1024 * 1024;

    public static readonly TimeSpan DefaultSegmentAge = TimeSpan.FromHours(1);

    /// <summary>A segment is sealed once it reaches this many bytes (<c>audit.segmentSize</c>).</summary>
    public long SegmentMaxBytes { get; init; } = DefaultSegmentBytes;

    /// <summary>A segment is sealed once its first entry is this old (<c>audit.segmentAge</c>).</summary>
    public TimeSpan SegmentMaxAge { get; init; } = DefaultSegmentAge;

    /// <summary>Where sealed segments and the checkpoints covering them are copied (<c>audit.archive.dir</c>); null = none.</summary>
    public string? ArchiveDirectory { get; init; }

    /// <summary>Local sealed segments older than this are pruned (<c>audit.retain.maxAge</c>); null = kept.</summary>
    public TimeSpan? RetainMaxAge { get; init; }

    /// <summary>
    /// Log space kept allocated ahead of the open segment's end: a full disk is seen while this much
    /// is still free for the entries of requests already forwarded. Re-reserved when half is used.
    /// </summary>
    public long ReserveBytes { get; init; } = 16L << 20;

    /// <summary>How often the writer tries again while the log cannot be written.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Failures to inject before the writer's I/O steps (tests); null in production.</summary>
    public IWriteFaults? Faults { get; init; }

    /// <summary><c>audit.onWriteFailure</c>.</summary>
    public WriteFailureMode OnWriteFailure { get; init; } = WriteFailureMode.Reject;

    /// <summary>Written into lifecycle entries.</summary>
    public string? Version { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// Which SHA-256 hashes the chain and the tree (<c>audit.sha256</c>): the fastest that passes the
    /// self-test, or .NET's only. Either way the log, its tree and its checkpoints are the same.
    /// </summary>
    public Sha256Choice Sha256 { get; init; } = Sha256Choice.Auto;

    public string Origin => Notes.Checkpoint.OriginOf(NodeId);

    public string ResolvedSigningKeyPath => Path.Combine(DataDirectory, SigningKeyPath);

    /// <summary>Every problem with these options, each naming the option, the value and what is expected.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            errors.Add("--data: a directory is required");
        }

        if (string.IsNullOrEmpty(NodeId) || NodeId.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == '+'))
        {
            errors.Add($"audit node id '{NodeId}': expected a non-empty name without spaces or '+'");
        }

        if (FlushInterval <= TimeSpan.Zero)
        {
            errors.Add($"audit.flushInterval {FlushInterval}: expected a positive duration");
        }

        if (CheckpointInterval <= TimeSpan.Zero)
        {
            errors.Add($"audit.checkpointInterval {CheckpointInterval}: expected a positive duration");
        }

        if (QueueCapacity < 1)
        {
            errors.Add($"audit queue capacity {QueueCapacity}: expected at least 1");
        }

        if (SegmentMaxEntries < 1 || SegmentMaxBytes < 1)
        {
            errors.Add($"audit segment limits {SegmentMaxEntries} entries / {SegmentMaxBytes} bytes: expected positive numbers");
        }

        if (SegmentMaxAge <= TimeSpan.Zero)
        {
            errors.Add($"audit.segmentAge {SegmentMaxAge}: expected a positive duration");
        }

        if (RetainMaxAge is { } retain && retain <= TimeSpan.Zero)
        {
            errors.Add($"audit.retain.maxAge {retain}: expected a positive duration");
        }

        return errors;
    }
}
