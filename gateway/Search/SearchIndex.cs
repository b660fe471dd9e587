using System.Net;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;
using Microsoft.Data.Sqlite;

namespace AuditGateway.Search;

/// <summary>
/// <c>index/search-v3.db</c> (SQLite), keyed by 64-bit hashes (XxHash64) of the values a search looks
/// up: each request id with its seq; and, for identity, client, route and Ingress (few distinct values,
/// many entries), each value with the blocks of <see cref="BlockSize"/> seqs it occurs in. A hash
/// that collides, or a block, only yields candidates, which are read and matched again. Derived data:
/// brought up to date from the log before each indexed search (only the entries written since),
/// rebuilt when deleted. Every entry it leads to is read back from the log and proven in the signed
/// tree (<see cref="IndexedSearch"/>).
/// </summary>
internal sealed class SearchIndex : IDisposable
{
    /// <summary>Seqs per block of the block postings.</summary>
    public const int BlockSize = 1024;

    private const int BatchSize = 20_000;
    private readonly SqliteConnection _db;
    private readonly HashSet<(int Field, long Key, long Block)> _seen = [];

    private SearchIndex(SqliteConnection db) => _db = db;

    private enum Field
    {
        Identity = 1,
        Client = 2,
        Route = 3,
        Ingress = 4,
    }

    /// <summary>The next seq the index has not seen: candidates stop there.</summary>
    public long End { get; private set; }

    /// <summary>Named by its schema: a new schema starts a new file (an older one can be deleted).</summary>
    public static string PathOf(string data) => Path.Combine(data, "index", "search-v3.db");

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
                CREATE TABLE IF NOT EXISTS requests (key INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key, seq)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS blocks (field INTEGER NOT NULL, key INTEGER NOT NULL, block INTEGER NOT NULL, PRIMARY KEY (field, key, block)) WITHOUT ROWID;
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

    /// <summary>
    /// Up to <paramref name="count"/> candidate seqs from <paramref name="fromSeq"/> on, in order: the
    /// request id's own seqs, or else every seq of the blocks where all the other fields asked for occur.
    /// </summary>
    public List<long> Candidates(SearchQuery query, long fromSeq, int count)
    {
        var seqs = new List<long>();
        using var command = _db.CreateCommand();
        command.Parameters.AddWithValue("$count", count);
        if (query.RequestId is { } requestId)
        {
            command.CommandText = "SELECT seq FROM requests WHERE key = $key AND seq >= $from ORDER BY seq LIMIT $count";
            command.Parameters.AddWithValue("$key", Key(requestId));
            command.Parameters.AddWithValue("$from", fromSeq);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                seqs.Add(reader.GetInt64(0));
            }

            return seqs;
        }

        var sets = new List<string>();
        void Add(string name, Field field, string? value)
        {
            if (value is not null)
            {
                sets.Add($"SELECT block FROM blocks WHERE field = {(int)field} AND key = ${name} AND block >= $fromBlock");
                command.Parameters.AddWithValue("$" + name, Key(value));
            }
        }

        Add("identity", Field.Identity, query.Identity);
        Add("client", Field.Client, query.Client?.ToString());
        if (query.Route is { } route)
        {
            sets.Add($"SELECT block FROM blocks WHERE field IN ({(int)Field.Route}, {(int)Field.Ingress}) AND key = $route AND block >= $fromBlock");
            command.Parameters.AddWithValue("$route", Key(route));
        }

        command.CommandText = string.Join(" INTERSECT ", sets) + " ORDER BY block LIMIT $blocks";
        command.Parameters.AddWithValue("$fromBlock", fromSeq / BlockSize);
        command.Parameters.AddWithValue("$blocks", (count / BlockSize) + 1);
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read() && seqs.Count < count)
            {
                var block = reader.GetInt64(0);
                for (var seq = Math.Max(block * BlockSize, fromSeq); seq < Math.Min((block + 1) * BlockSize, End) && seqs.Count < count; seq++)
                {
                    seqs.Add(seq);
                }
            }
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
        End = next;
        var first = segments.FindLastIndex(s => s.FirstSeq <= next);
        if (first < 0)
        {
            return;
        }

        var transaction = _db.BeginTransaction();
        using var request = Insert(transaction, "INSERT OR IGNORE INTO requests VALUES ($key, $seq)", "$key", "$seq");
        using var block = Insert(transaction, "INSERT OR IGNORE INTO blocks VALUES ($field, $key, $block)", "$field", "$key", "$block");
        var pending = 0;
        var seq = next;
        foreach (var segment in segments[first..])
        {
            // Only complete lines: a last line still being written is indexed next time.
            SegmentLines.ForEach(segment, Math.Max(0, next - segment.FirstSeq), (index, line) =>
            {
                seq = segment.FirstSeq + index;

                // Not an entry: a search that reads it reports the damage; the index passes it by.
                if (EntryParser.TryParse(line, out _) is { } entry && entry.Seq == seq)
                {
                    Add(entry, request, block);
                }

                seq++;
                if (++pending == BatchSize)
                {
                    SetMeta("next", seq, transaction);
                    transaction.Commit();
                    transaction.Dispose();
                    transaction = _db.BeginTransaction();
                    request.Transaction = block.Transaction = transaction;
                    pending = 0;
                }
            });
        }

        End = Math.Max(seq, next);
        SetMeta("next", End, transaction);
        transaction.Commit();
        transaction.Dispose();
    }

    private void Add(LoggedEntry entry, SqliteCommand request, SqliteCommand block)
    {
        void Occurs(Field field, string? value)
        {
            if (value is null)
            {
                return;
            }

            var key = Key(value);
            var at = entry.Seq / BlockSize;
            if (_seen.Add(((int)field, key, at)))
            {
                block.Parameters[0].Value = (int)field;
                block.Parameters[1].Value = key;
                block.Parameters[2].Value = at;
                block.ExecuteNonQuery();
            }
        }

        switch (entry.Body)
        {
            case RequestBody r:
                request.Parameters[0].Value = Key(r.Id);
                request.Parameters[1].Value = entry.Seq;
                request.ExecuteNonQuery();
                Occurs(Field.Identity, r.Identity.Subject);
                Occurs(Field.Client, IPAddress.TryParse(r.Client.Ip, out var ip) ? ip.ToString() : r.Client.Ip);
                Occurs(Field.Route, r.Route?.Id);
                Occurs(Field.Ingress, r.Route is { } route ? $"{route.Namespace}/{route.Ingress}" : null);
                break;
            case ConfigBody c:
                Occurs(Field.Identity, c.Actor.Username);
                break;
        }

        if (_seen.Count > 100_000)
        {
            _seen.Clear();
        }
    }

    private SqliteCommand Insert(SqliteTransaction transaction, string sql, params string[] names)
    {
        var command = _db.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var name in names)
        {
            command.Parameters.Add(name, SqliteType.Integer);
        }

        return command;
    }

    private static long Key(string value) => unchecked((long)System.IO.Hashing.XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(value)));

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
