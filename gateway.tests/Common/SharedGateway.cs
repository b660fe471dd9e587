namespace AuditGateway.Tests.Common;

/// <summary>
/// A class fixture: one <see cref="TestGateway"/> for every test of a class whose tests only
/// read (or whose changes do not disturb each other). Subclasses name the backends, write the
/// manifests, may configure the gateway before it starts and act once it has.
/// </summary>
public abstract class SharedGateway : IAsyncLifetime
{
    private TestGateway? _gateway;

    internal TestGateway Gateway => _gateway ?? throw new InvalidOperationException("the fixture is not initialized");

    public async Task InitializeAsync()
    {
        var gateway = CreateGateway();
        try
        {
            await gateway.AddBackendsAsync(Backends);
            WriteManifests(gateway);
            await gateway.StartAsync();
            _gateway = gateway;
            await StartedAsync();
        }
        catch
        {
            _gateway = null;
            await gateway.DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }
    }

    private protected abstract string[] Backends { get; }

    /// <summary>The gateway before it starts: a subclass sets a config file, a clock, listeners.</summary>
    private protected virtual TestGateway CreateGateway() => new();

    private protected abstract void WriteManifests(TestGateway gateway);

    /// <summary>After the gateway started: a subclass may send the traffic its tests read.</summary>
    private protected virtual Task StartedAsync() => Task.CompletedTask;
}
