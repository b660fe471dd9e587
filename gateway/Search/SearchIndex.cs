using System.Net;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;
using Microsoft.Data.Sqlite;

namespace AuditGateway.Search;

/// <summary>
/// <c>index/search-v2.db</c> (SQLite): for each entry its seq and a 64-bit hash (XxHash64) of each field a
/// search looks up (request id, identity, client, route, Ingress); a hash that collides only adds a
/// candidate, which is matched again. Derived data: brought up to date from the log
/// before each indexed search (only the entries written since), rebuilt when deleted. It is only a
/// hint: every entry it names is read back from the log, matched again and proven in the signed tree
/// (<see cref="IndexedSearch"/>).
/// </summary>
internal sealed class SearchIndex : IDisposable
{
    private const int BatchSize = 20_000;
    private static readonly string[] s_columns = ["$seq", "$request_id", "$identity", "$client", "$route", "$ingress"];
    private readonly SqliteConnection _db;

    private SearchIndex(SqliteConnection db) => _db = db;

    /// <summary>Named by its schema: a new schema starts a new file (the old one can be deleted).</summary>
    public static string PathOf(string data) => Path.Combine(data, "index", "search-v2.db");

    /// <summary>Opens (creating it if needed) and brings the index up to the end of the log's complete lines.</summary>
    public static SearchIndex OpenAndUpdate(string data)
    {
        var path = PathOf(data);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        var index = new SearchIndex(db);
        try
        {
            index.Execute("""
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = OFF;
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS entries (
                  seq INTEGER PRIMARY KEY, request_id INTEGER, identity INTEGER, client INTEGER, route INTEGER, ingress INTEGER);
                CREATE INDEX IF NOT EXISTS by_request_id ON entries (request_id, seq) WHERE request_id IS NOT NULL;
                CREATE INDEX IF NOT EXISTS by_identity ON entries (identity, seq) WHERE identity IS NOT NULL;
                CREATE INDEX IF NOT EXISTS by_client ON entries (client, seq) WHERE client IS NOT NULL;
                CREATE INDEX IF NOT EXISTS by_route ON entries (route, seq) WHERE route IS NOT NULL;
                CREATE INDEX IF NOT EXISTS by_ingress ON entries (ingress, seq) WHERE ingress IS NOT NULL;
                """);
            index.Update(data);
            return index;
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    /// <summary>Whether the query names a field the index looks up (otherwise a scan is as fast).</summary>
    public static bool Serves(SearchQuery query) =>
        query.RequestId is not null || query.Identity is not null || query.Client is not null || query.Route is not null;

    /// <summary>The seqs from <paramref name="fromSeq"/> on whose indexed fields match the query, in order, at most <paramref name="count"/>.</summary>
    public List<long> Candidates(SearchQuery query, long fromSeq, int count)
    {
        using var command = _db.CreateCommand();
        var where = new List<string> { "seq >= $from" };
        command.Parameters.AddWithValue("$from", fromSeq);
        void Add(string column, string? value)
        {
            if (value is not null)
            {
                where.Add($"{column} = ${column}");
                command.Parameters.AddWithValue("$" + column, Key(value));
            }
        }

        Add("request_id", query.RequestId);
        Add("identity", query.Identity);
        Add("client", query.Client?.ToString());
        if (query.Route is { } route)
        {
            where.Add("(route = $route OR ingress = $route)");
            command.Parameters.AddWithValue("$route", Key(route));
        }

        command.CommandText = $"SELECT seq FROM entries WHERE {string.Join(" AND ", where)} ORDER BY seq LIMIT $count";
        command.Parameters.AddWithValue("$count", count);
        var seqs = new List<long>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            seqs.Add(reader.GetInt64(0));
        }

        return seqs;
    }

    public void Dispose() => _db.Dispose();

    /// <summary>Indexes the entries written since the last update, from the segment holding the first of them.</summary>
    private void Update(string data)
    {
        var next = Meta("next");
        var (start, segments) = LogStart.Find(data, LogLayout.Segments(data));
        next = Math.Max(next, start.Seq);
        var first = segments.FindLastIndex(s => s.FirstSeq <= next);
        if (first < 0)
        {
            return;
        }

        var seq = segments[first].FirstSeq;
        using var log = new LogReader(data, _ => segments[first..], start);
        var transaction = _db.BeginTransaction();
        using var insert = _db.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT OR REPLACE INTO entries VALUES ($seq, $request_id, $identity, $client, $route, $ingress)";
        var parameters = s_columns.Select(name => insert.Parameters.Add(name, SqliteType.Integer)).ToArray();
        var pending = 0;
        for (; log.Read() && !log.Unterminated; seq++)
        {
            if (seq < next)
            {
                continue;
            }

            if (EntryParser.TryParse(log.Line, out _) is not { } entry)
            {
                // Not an entry: a search that reads it reports the damage; the index skips it.
                continue;
            }

            Bind(parameters, entry);
            insert.ExecuteNonQuery();
            if (++pending == BatchSize)
            {
                SetMeta("next", seq + 1, transaction);
                transaction.Commit();
                transaction.Dispose();
                transaction = _db.BeginTransaction();
                insert.Transaction = transaction;
                pending = 0;
            }
        }

        SetMeta("next", Math.Max(seq, next), transaction);
        transaction.Commit();
        transaction.Dispose();
    }

    private static void Bind(SqliteParameter[] p, LoggedEntry entry)
    {
        p[0].Value = entry.Seq;
        (string? RequestId, string? Identity, string? Client, string? Route, string? Ingress) fields = entry.Body switch
        {
            RequestBody r => (
                r.Id,
                r.Identity.Subject,
                IPAddress.TryParse(r.Client.Ip, out var ip) ? ip.ToString() : r.Client.Ip,
                r.Route?.Id,
                r.Route is { } route ? $"{route.Namespace}/{route.Ingress}" : null),
            ConfigBody c => (null, c.Actor.Username, null, null, null),
            _ => (null, null, null, null, null),
        };
        p[1].Value = KeyOrNull(fields.RequestId);
        p[2].Value = KeyOrNull(fields.Identity);
        p[3].Value = KeyOrNull(fields.Client);
        p[4].Value = KeyOrNull(fields.Route);
        p[5].Value = KeyOrNull(fields.Ingress);
    }

    private static long Key(string value) => unchecked((long)System.IO.Hashing.XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(value)));

    private static object KeyOrNull(string? value) => value is null ? DBNull.Value : Key(value);

    private long Meta(string key)
    {
        using var command = _db.CreateCommand();
        command.CommandText = "SELECT value FROM meta WHERE key = $key";
        command.Parameters.AddWithValue("$key", key);
        return command.ExecuteScalar() is long value ? value : 0;
    }

    private void SetMeta(string key, long value, SqliteTransaction transaction)
    {
        using var command = _db.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT OR REPLACE INTO meta VALUES ($key, $value)";
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$value", value);
        command.ExecuteNonQuery();
    }

    private void Execute(string sql)
    {
        using var command = _db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
