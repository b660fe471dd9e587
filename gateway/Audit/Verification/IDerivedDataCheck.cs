using AuditGateway.Audit.Entries;

namespace AuditGateway.Audit.Verification;

/// <summary>
/// Data derived from the log and kept beside it (the reports' rollups), which <c>auditgw verify</c> checks
/// against the entries: it sees every verified entry in seq order (requests as their figures, without
/// building them; the other kinds parsed), then says whether what is stored matches.
/// </summary>
internal interface IDerivedDataCheck : IDisposable
{
    void Add(in RequestFacts request);

    void Add(LoggedEntry other);

    /// <summary>After the log verified: null when everything stored matched, else the first seq concerned and why; <paramref name="summary"/> goes on the OK line.</summary>
    (long Seq, string Reason)? Finish(out string summary);
}

/// <summary>Makes the check for a data directory.</summary>
internal delegate IDerivedDataCheck DerivedDataCheckFactory(string dataDirectory);
