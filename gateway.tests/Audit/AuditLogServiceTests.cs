using AuditGateway.Audit;
using AuditGateway.Audit.Writer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static AuditGateway.Tests.Audit.AuditTestKit;

namespace AuditGateway.Tests.Audit;

public sealed class AuditLogServiceTests : IDisposable
{
    private readonly TempDataDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_host_opens_the_log_on_start_and_closes_it_on_stop()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddAuditLog(Options(_dir.Path));
        using var host = builder.Build();
        var log = host.Services.GetRequiredService<IAuditLog>();
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await log.EnqueueAsync(Entry(0)));

        Assert.False(log.IsWritable);
        await host.StartAsync();
        Assert.True(log.IsWritable);
        var receipt = await log.AppendDurableAsync(Entry(1));
        Assert.Equal(1, receipt.Seq);
        Assert.NotNull(log.LatestCheckpoint);
        await host.StopAsync();
        Assert.False(log.IsWritable);

        Assert.Equal(0, (await VerifyAsync(_dir.Path)).ExitCode);
        Assert.Equal(3, ReadLines(_dir.Segment0).Count);
    }
}
