using AuditGateway.Audit;

namespace AuditGateway.Search;

/// <summary>
/// Keeps <c>index/</c> up to date in the gateway: every <see cref="Every"/> (and at start) it indexes
/// the entries written since, so a search finds little to catch up on before it answers. A search
/// still brings the index up to date itself (the command line on a copy of the data, or between two
/// of these passes); SQLite's WAL lets both read and write one file.
/// </summary>
internal sealed class IndexMaintainer(AuditOptions options, TimeProvider time, ILogger<IndexMaintainer> logger) : IAsyncDisposable
{
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(10);

    private readonly PeriodicChore _chore = new("search index", Every, time, logger, () =>
    {
        using var index = SearchIndex.OpenAndUpdate(options.DataDirectory);
    });

    public void Start() => _chore.Start();

    public ValueTask DisposeAsync() => _chore.DisposeAsync();
}
