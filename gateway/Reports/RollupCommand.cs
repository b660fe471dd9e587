using System.CommandLine;
using AuditGateway.Audit.Cli;

namespace AuditGateway.Reports;

/// <summary><c>auditgw rollups --data DIR</c>: builds the missing or stale rollups from the log (the gateway does this by itself; for a copy of a data directory).</summary>
internal static class RollupCommand
{
    public static Command Create()
    {
        var data = AuditCommands.DataOption();
        var command = new Command("rollups", "Build the per-minute rollups reports use, for every block of the log that has none, a stale one, or one that stops short of the log.");
        command.Options.Add(data);
        command.SetAction((r, ct) => AuditCommands.Guard(r, "rollups", () =>
        {
            var directory = r.GetValue(data)!;
            var node = NodeOf(directory);
            var built = RollupMaintainer.Rebuild(directory, node, durable: null);
            r.InvocationConfiguration.Output.WriteLine($"rollups: built {built}, kept {RollupStore.List(directory).Count - built}");
            return AuditCommands.Intact;
        }));
        return command;
    }

    /// <summary>The node that wrote the log: from the first entry.</summary>
    private static string NodeOf(string data)
    {
        var segments = Audit.Storage.LogLayout.Segments(data);
        var first = segments.Count > 0 ? Audit.Storage.SegmentLines.Read(segments[0], 0) : null;
        return first is not null && Audit.Entries.EntryParser.TryParse(first, out _) is { } entry
            ? entry.Node
            : throw new InvalidDataException($"{Audit.Storage.LogLayout.LogDirectory(data)} has no entry to roll up");
    }
}
