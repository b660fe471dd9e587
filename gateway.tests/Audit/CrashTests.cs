using System.Diagnostics;
using AuditGateway.Audit.Entries;
using AuditGateway.Audit.Storage;
using AuditGateway.Audit.Writer;
using AuditGateway.Tests.Common;

using static AuditGateway.Tests.Audit.AuditTestKit;

namespace AuditGateway.Tests.Audit;

/// <summary>
/// A child auditgw writing under load is SIGKILLed at random moments; after each kill the log
/// reopens (cutting any torn tail), keeps every entry it had acknowledged as durable, continues
/// the same chain, and verifies.
/// </summary>
public sealed class CrashTests : IDisposable
{
    private const int Kills = 20;
    private readonly TempDataDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_writer_killed_at_random_moments_always_recovers_to_a_log_that_verifies()
    {
        var random = new Random(20250301);
        var recoveries = 0;
        for (var kill = 0; kill < Kills; kill++)
        {
            var lastDurable = await RunAndKillAsync(random.Next(1, 12));

            await using (var log = await AuditLog.OpenAsync(Options(_dir.Path) with { NodeId = "load" }))
            {
                Assert.True(log.DurableSize > lastDurable, $"kill {kill}: acknowledged seq {lastDurable} was lost");
            }

            var (recovery, contiguous) = Scan();
            Assert.True(contiguous, $"kill {kill}: seq is not contiguous");
            Assert.True(recovery.Count > recoveries, $"kill {kill}: no recovery entry was written");
            recoveries = recovery.Count;

            var verify = await VerifyAsync(_dir.Path);
            Assert.True(verify.ExitCode == 0, $"kill {kill}: {verify.Output}{verify.Error}");
        }
    }

    /// <summary>Starts auditgw audit-load, waits until it has acknowledged <paramref name="durableLines"/> durable appends, kills it; returns the last acknowledged seq.</summary>
    private async Task<long> RunAndKillAsync(int durableLines)
    {
        using var process = Process.Start(AuditgwProcess.StartInfo("audit-load", "--data", _dir.Path, "--durable-every", "50"))!;
        long lastDurable = -1;
        var seen = 0;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            while (seen < durableLines && await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith("durable ", StringComparison.Ordinal))
                {
                    lastDurable = long.Parse(line["durable ".Length..], System.Globalization.CultureInfo.InvariantCulture);
                    seen++;
                }
            }
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        Assert.True(seen == durableLines, "the writer stopped early: " + await process.StandardError.ReadToEndAsync());
        return lastDurable;
    }

    private (List<LifecycleBody> Recovery, bool Contiguous) Scan()
    {
        var recovery = new List<LifecycleBody>();
        long expected = 0;
        var contiguous = true;
        using var reader = new LogReader(_dir.Path);
        while (reader.Read())
        {
            var entry = EntryParser.TryParse(reader.Line, out _);
            contiguous &= entry?.Seq == expected++;
            if (entry?.Body is LifecycleBody { Event: LifecycleEvent.Recovery } body)
            {
                recovery.Add(body);
            }
        }

        return (recovery, contiguous);
    }
}
