namespace AuditGateway.Tests.Common;

/// <summary>
/// A class fixture: one <see cref="TestGateway"/> for every test of a class whose tests only
/// read. Subclasses name the backends and write the manifests.
/// </summary>
public abstract class SharedGateway : IAsyncLifetime
{
    private TestGateway? _gateway;

    internal TestGateway Gateway => _gateway ?? throw new InvalidOperationException("the fixture is not initialized");

    public async Task InitializeAsync() => _gateway = await TestGateway.StartAsync(Backends, WriteManifests);

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }
    }

    private protected abstract string[] Backends { get; }

    private protected abstract void WriteManifests(TestGateway gateway);
}
