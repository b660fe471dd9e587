using System.Text.Json;
using AuditGateway.Search;
using AuditGateway.Tests.Audit;

namespace AuditGateway.Tests.Search;

/// <summary><c>auditgw search</c> in-process, and what its JSON output says.</summary>
internal static class SearchCli
{
    public static Task<CliResult> RunAsync(TimeProvider time, params string[] args) => AuditTestKit.RunAsync([SearchCommand.Create(time)], ["search", .. args]);

    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(TimeProvider.System, args);

    public static IEnumerable<string> Lines(this CliResult result) => result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The seqs of the <c>{seq, entry}</c> lines of <c>--format json</c>, checking each line's seq is its entry's.</summary>
    public static List<long> Seqs(this CliResult result)
    {
        var seqs = new List<long>();
        foreach (var line in result.Lines().Where(l => l.StartsWith("{\"seq\":", StringComparison.Ordinal)))
        {
            using var json = JsonDocument.Parse(line);
            var seq = json.RootElement.GetProperty("seq").GetInt64();
            Assert.Equal(seq, json.RootElement.GetProperty("entry").GetProperty("seq").GetInt64());
            seqs.Add(seq);
        }

        return seqs;
    }

    /// <summary>The next page's cursor, or null on the last page.</summary>
    public static string? NextCursor(this CliResult result)
    {
        var last = result.Lines().LastOrDefault(l => l.StartsWith("{\"nextCursor\":", StringComparison.Ordinal));
        return last is null ? null : JsonDocument.Parse(last).RootElement.GetProperty("nextCursor").GetString();
    }

    /// <summary>Every page of a search, following the cursor until there is none; the seqs in the order printed.</summary>
    public static async Task<(List<long> Seqs, int Pages)> AllPagesAsync(params string[] args)
    {
        var seqs = new List<long>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await RunAsync([.. args, "--format", "json", .. cursor is null ? Array.Empty<string>() : ["--cursor", cursor]]);
            Assert.True(page.ExitCode == 0, page.Output + page.Error);
            seqs.AddRange(page.Seqs());
            cursor = page.NextCursor();
            pages++;
        }
        while (cursor is not null);
        return (seqs, pages);
    }
}
