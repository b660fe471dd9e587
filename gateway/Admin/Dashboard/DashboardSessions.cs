using System.Security.Cryptography;

namespace AuditGateway.Admin.Dashboard;

/// <summary>
/// Dashboard sessions, so that a page polling the same read every second is audited once, not once a
/// second (docs/dashboard.md, "What the page asks for, and what is audited"). <c>GET /api/session</c> opens one for the caller; a read
/// that carries its id (header <see cref="Header"/>) and was already recorded in that session for the same
/// caller and the same request (method, path and query) is answered under that first record. Anything else —
/// no id, an unknown or evicted id, another caller's id, a new request — is recorded as usual, so the
/// sessions can only ever remove repeats. Kept in memory, at most <see cref="Capacity"/> sessions (the
/// least recently used goes first) of at most <see cref="ReadsPerSession"/> distinct reads each.
/// </summary>
internal sealed class DashboardSessions(TimeProvider time)
{
    /// <summary>The request header carrying the session id.</summary>
    public const string Header = "X-AuditGateway-Session";

    /// <summary>Sessions kept; opening one more forgets the least recently used.</summary>
    public const int Capacity = 1000;

    /// <summary>Distinct reads remembered per session; reads beyond them are recorded every time.</summary>
    public const int ReadsPerSession = 256;

    private readonly Dictionary<string, Session> _sessions = new(StringComparer.Ordinal);

    /// <summary>A new session of <paramref name="caller"/>; returns its id (random, 128 bits, base64url).</summary>
    public string Open(string caller)
    {
        var id = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        lock (_sessions)
        {
            if (_sessions.Count >= Capacity)
            {
                _sessions.Remove(_sessions.MinBy(s => s.Value.LastUsed).Key);
            }

            _sessions[id] = new Session(caller) { LastUsed = time.GetTimestamp() };
        }

        return id;
    }

    /// <summary>
    /// The record of <paramref name="subject"/> already made (or being made) in session <paramref name="id"/>
    /// by <paramref name="caller"/>; otherwise a new one from <paramref name="record"/>, remembered for the
    /// next repeat when the session is the caller's. <paramref name="record"/> is told whether the read
    /// belongs to the session (its record then names it); it is never called under the lock.
    /// </summary>
    public Task RecordOnce(string? id, string caller, string subject, Func<bool, Task> record)
    {
        Lazy<Task>? read = null;
        lock (_sessions)
        {
            if (id is not null && _sessions.TryGetValue(id, out var session) && session.Caller == caller)
            {
                session.LastUsed = time.GetTimestamp();
                if (!session.Reads.TryGetValue(subject, out read) || read.IsValueCreated && (read.Value.IsFaulted || read.Value.IsCanceled))
                {
                    read = new Lazy<Task>(() => record(true));
                    if (session.Reads.Count < ReadsPerSession || session.Reads.ContainsKey(subject))
                    {
                        session.Reads[subject] = read;
                    }
                }
            }
        }

        return read?.Value ?? record(false);
    }

    private sealed class Session(string caller)
    {
        public string Caller { get; } = caller;

        public long LastUsed { get; set; }

        public Dictionary<string, Lazy<Task>> Reads { get; } = new(StringComparer.Ordinal);
    }
}
