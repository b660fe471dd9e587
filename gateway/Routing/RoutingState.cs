namespace AuditGateway.Routing;

/// <summary>
/// The route table in force. Readers take <see cref="Current"/> once per request and never
/// lock; the pipeline swaps in a whole new table. <see cref="Changed"/> completes on every swap.
/// </summary>
internal sealed class RoutingState
{
    private RouteTable _table = RouteTable.Empty;
    private TaskCompletionSource _changed = NewSignal();
    private volatile bool _synced;

    public RouteTable Current => Volatile.Read(ref _table);

    /// <summary>True once the config source has delivered its first full view.</summary>
    public bool Synced => _synced;

    /// <summary>Completes at the next swap (or when sync is reached).</summary>
    public Task Changed => Volatile.Read(ref _changed).Task;

    public void Swap(RouteTable table)
    {
        Volatile.Write(ref _table, table);
        Signal();
    }

    public void MarkSynced()
    {
        _synced = true;
        Signal();
    }

    /// <summary>Waits until <paramref name="condition"/> holds for the table in force.</summary>
    public async Task<RouteTable> WaitForAsync(Func<RouteTable, bool> condition, CancellationToken cancellationToken)
    {
        while (true)
        {
            var changed = Changed;
            var table = Current;
            if (condition(table))
            {
                return table;
            }

            await changed.WaitAsync(cancellationToken);
        }
    }

    private void Signal() => Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
