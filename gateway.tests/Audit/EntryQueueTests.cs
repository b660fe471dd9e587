using AuditGateway.Audit.Writer;

namespace AuditGateway.Tests.Audit;

public sealed class EntryQueueTests
{
    [Fact]
    public async Task A_full_queue_refuses_a_try_and_makes_an_add_wait_for_room()
    {
        var queue = new EntryQueue<int>(capacity: 2);
        Assert.True(queue.TryAdd(1));
        Assert.True(queue.TryAdd(2));
        Assert.False(queue.TryAdd(3));

        var waiting = queue.AddAsync(3, CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        Assert.True(queue.TryTake(out var first));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, first);
        Assert.Equal(2, queue.Count);
        Assert.True(queue.TryTake(out var second));
        Assert.True(queue.TryTake(out var third));
        Assert.Equal((2, 3), (second, third));
        Assert.False(queue.TryTake(out _));
    }

    [Fact]
    public async Task Completing_refuses_new_entries_releases_waiters_and_drains_what_is_left()
    {
        var queue = new EntryQueue<int>(capacity: 1);
        Assert.True(queue.TryAdd(1));
        var waiting = queue.AddAsync(2, CancellationToken.None).AsTask();

        var cause = new IOException("disk gone");
        queue.Complete(cause);

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Same(cause, refused.InnerException);
        Assert.Throws<InvalidOperationException>(() => queue.TryAdd(3));
        Assert.False(queue.IsDrained);
        Assert.True(queue.TryTake(out var left));
        Assert.Equal(1, left);
        Assert.True(queue.IsDrained);
    }

    [Fact]
    public async Task Many_producers_through_a_small_queue_lose_and_repeat_nothing()
    {
        const int Producers = 4;
        const int PerProducer = 20_000;
        var queue = new EntryQueue<int>(capacity: 8);
        var seen = new bool[Producers * PerProducer];
        var taken = 0;
        var consumer = Task.Run(() =>
        {
            while (taken < seen.Length)
            {
                if (queue.TryTake(out var item))
                {
                    Assert.False(seen[item], $"entry {item} taken twice");
                    seen[item] = true;
                    taken++;
                }
            }
        });

        var producers = Enumerable.Range(0, Producers).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < PerProducer; i++)
            {
                await queue.AddAsync((p * PerProducer) + i, CancellationToken.None);
            }
        }));
        await Task.WhenAll(producers).WaitAsync(TimeSpan.FromSeconds(60));
        await consumer.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.All(seen, Assert.True);
        Assert.Equal(0, queue.Count);
    }
}
