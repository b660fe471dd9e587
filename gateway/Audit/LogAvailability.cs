using System.Diagnostics.Metrics;

namespace AuditGateway.Audit;

/// <summary>
/// Whether the log can take entries now, and if not since when and why; what was refused or went
/// unaudited meanwhile. The request path reads <see cref="IsWritable"/> (one volatile read) before
/// it forwards anything; the writer starts and ends outages. Also the data volume's fill level.
/// </summary>
internal sealed class LogAvailability : IDisposable
{
    /// <summary>Above this share of the data volume in use, <c>/readyz</c> warns.</summary>
    public const double DiskWarningRatio = 0.8;

    /// <summary>The meter of every audit instrument.</summary>
    public const string MeterName = "AuditGateway";

    private const string NotOpen = "the audit log is not open yet";

    private readonly Meter _meter;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _unaudited;
    private readonly Counter<long> _lost;
    private readonly Counter<long> _outages;
    private readonly string? _dataDirectory;
    private State _state = new(NotOpen, null);
    private long _outageRefused;
    private long _outageUnaudited;
    private long _outageLost;

    /// <param name="dataDirectory">The volume whose fill level is reported; null: none.</param>
    public LogAvailability(IMeterFactory? meterFactory, string? dataDirectory)
    {
        _dataDirectory = dataDirectory;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _refused = _meter.CreateCounter<long>("auditgw_audit_refused_requests_total", description: "Requests answered 503 because the audit log could not be written.");
        _unaudited = _meter.CreateCounter<long>("auditgw_unaudited_requests_total", description: "Requests forwarded without an audit entry (audit.onWriteFailure: serve).");
        _lost = _meter.CreateCounter<long>("auditgw_audit_lost_entries_total", description: "Audit entries that could not be kept until the log was writable again.");
        _outages = _meter.CreateCounter<long>("auditgw_audit_outages_total", description: "Times the audit log became unwritable.");
        _meter.CreateObservableGauge("auditgw_audit_writable", () => IsWritable ? 1 : 0, description: "1 while the audit log can be written, 0 while requests are refused.");
        _meter.CreateObservableGauge("auditgw_audit_disk_used_ratio", () => DiskUsedRatio() ?? double.NaN, description: "Share of the --data volume in use.");
    }

    /// <summary>True while entries can be written; false before open, during an outage, after close.</summary>
    public bool IsWritable => Volatile.Read(ref _state).Problem is null;

    /// <summary>Why the log cannot be written now; null when it can.</summary>
    public string? Problem => Volatile.Read(ref _state).Problem;

    /// <summary>When the current outage began; null when writable (or not yet open).</summary>
    public DateTimeOffset? Since => Volatile.Read(ref _state).Since;

    /// <summary>A request was answered 503 because the log cannot be written.</summary>
    public void Refused()
    {
        Interlocked.Increment(ref _outageRefused);
        _refused.Add(1);
    }

    /// <summary>Request entries were dropped: their requests went through unaudited.</summary>
    public void Unaudited(long requests)
    {
        Interlocked.Add(ref _outageUnaudited, requests);
        _unaudited.Add(requests);
    }

    /// <summary>Entries that could not be kept.</summary>
    public void Lost(long entries)
    {
        Interlocked.Add(ref _outageLost, entries);
        _lost.Add(entries);
    }

    /// <summary>Share of the data volume in use (0..1); null when it cannot be read.</summary>
    public double? DiskUsedRatio()
    {
        if (_dataDirectory is null)
        {
            return null;
        }

        try
        {
            var drive = new DriveInfo(_dataDirectory);
            return drive.TotalSize == 0 ? null : 1.0 - ((double)drive.AvailableFreeSpace / drive.TotalSize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The log is open and writable.</summary>
    internal void Opened() => Volatile.Write(ref _state, new State(null, null));

    /// <summary>The log is closed for good (stopped, or its writer failed).</summary>
    internal void Closed(string problem) => Volatile.Write(ref _state, new State(problem, null));

    /// <summary>An outage begins (the writer calls this once per incident); the counts start from zero.</summary>
    internal void BeginOutage(string problem, DateTimeOffset since)
    {
        Interlocked.Exchange(ref _outageRefused, 0);
        Interlocked.Exchange(ref _outageUnaudited, 0);
        Interlocked.Exchange(ref _outageLost, 0);
        _outages.Add(1);
        Volatile.Write(ref _state, new State(problem, since));
    }

    /// <summary>What the outage cost so far: requests refused, requests unaudited, entries lost.</summary>
    internal (long Refused, long Unaudited, long Lost) OutageCounts() =>
        (Interlocked.Read(ref _outageRefused), Interlocked.Read(ref _outageUnaudited), Interlocked.Read(ref _outageLost));

    public void Dispose() => _meter.Dispose();

    private sealed record State(string? Problem, DateTimeOffset? Since);
}
