using AuditGateway.Search;
using AuditGateway.Tests.Audit;
using AuditGateway.Tests.Common;

namespace AuditGateway.Tests.Search;

/// <summary>The gateway's upkeep of <c>index/</c>: at start, then every 10 s of its clock; a failure is one line until it works again.</summary>
public sealed class IndexMaintainerTests : IDisposable
{
    private readonly TempDataDirectory _dir = new();
    private readonly ManualTimeProvider _clock = new();
    private readonly LogCollector _logs = new();

    public void Dispose()
    {
        _logs.Dispose();
        _dir.Dispose();
    }

    private static long IndexEnd(string path)
    {
        using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False");
        db.Open();
        using var command = db.CreateCommand();
        command.CommandText = "SELECT value FROM meta WHERE key = 'next'";
        return command.ExecuteScalar() is long end ? end : -1;
    }

    [Fact]
    public async Task The_index_follows_the_log_at_start_and_every_ten_seconds_and_a_failure_is_one_line_until_it_works_again()
    {
        await AuditTestKit.WriteLogAsync(_dir.Path, 300);
        var options = AuditTestKit.Options(_dir.Path);
        using var loggers = LoggerFactory.Create(b => b.AddProvider(_logs));
        await using var maintainer = new IndexMaintainer(options, _clock, loggers.CreateLogger<IndexMaintainer>());
        maintainer.Start();
        var path = SearchIndex.PathOf(_dir.Path);
        await Eventually.TrueAsync(() => File.Exists(path) && IndexEnd(path) == 302, because: "the first pass at start");

        // The index directory replaced by a file: one error line however many passes fail.
        var index = Path.GetDirectoryName(path)!;
        Directory.Delete(index, recursive: true);
        await File.WriteAllTextAsync(index, "not a directory");
        for (var i = 0; i < 3; i++)
        {
            await Eventually.TrueAsync(() => _clock.ActiveTimers > 0, because: "the chore waits for its timer");
            _clock.Advance(IndexMaintainer.Every);
        }

        await Eventually.TrueAsync(() => _logs.Containing(LogLevel.Error, "search index:").Count == 1, because: "one error line");
        File.Delete(index);
        await AuditTestKit.WriteLogAsync(_dir.Path, 100);
        await Eventually.TrueAsync(() =>
        {
            _clock.Advance(IndexMaintainer.Every);
            return File.Exists(path) && IndexEnd(path) == 404;
        }, because: "the entries written since, indexed by a later pass");
        Assert.Single(_logs.Containing(LogLevel.Error, "search index:"));
        Assert.Single(_logs.Containing(LogLevel.Information, "search index: up to date again"));
    }
}
