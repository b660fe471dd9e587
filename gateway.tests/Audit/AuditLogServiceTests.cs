using AuditGateway.Audit;
using AuditGateway.Audit.Writer;

using static AuditGateway.Tests.Audit.AuditTestKit;

namespace AuditGateway.Tests.Audit;

public sealed class AuditLogServiceTests : IDisposable
{
    private readonly TempDataDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_registered_log_opens_on_start_and_closes_on_dispose()
    {
        var services = new ServiceCollection().AddLogging().AddAuditLog(Options(_dir.Path));
        await using var provider = services.BuildServiceProvider();
        var service = provider.GetRequiredService<AuditLogService>();
        var log = provider.GetRequiredService<IAuditLog>();
        Assert.Same(service, log);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await log.EnqueueAsync(Entry(0)));

        Assert.False(log.Availability.IsWritable);
        await service.StartAsync(CancellationToken.None);
        Assert.True(log.Availability.IsWritable);
        var receipt = await log.AppendDurableAsync(Entry(1));
        Assert.Equal(1, receipt.Seq);
        Assert.NotNull(log.LatestCheckpoint);
        await service.DisposeAsync();
        Assert.False(log.Availability.IsWritable);

        Assert.Equal(0, (await VerifyAsync(_dir.Path)).ExitCode);
        Assert.Equal(3, ReadLines(_dir.Segment0).Count);
    }
}
