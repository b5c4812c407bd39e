using CompGrid.Local;
using CompGrid.Testing;

namespace CompGrid.Local.Tests;

public sealed class LocalBackendFixture : IDisposable
{
    public LocalBackendFixture()
    {
        StateDirectory = Path.Combine(Path.GetTempPath(), "compgrid-local-tests-" + Guid.NewGuid().ToString("N")[..8]);
        Backend = LocalBackend.Create("local", new LocalBackendOptions
        {
            StateDirectory = StateDirectory,
            KillGracePeriod = TimeSpan.FromMilliseconds(500),
            SampleInterval = TimeSpan.FromMilliseconds(100),
            Nodes = [new LocalNodeOptions { Name = "n1", Cpus = 8, MemoryMiB = 4096 }, new LocalNodeOptions { Name = "n2", Cpus = 8, MemoryMiB = 4096 }],
        });
    }

    public string StateDirectory { get; }

    public IComputeBackend Backend { get; }

    public void Dispose()
    {
        (Backend as IDisposable)?.Dispose();
        try { Directory.Delete(StateDirectory, true); } catch (IOException) { }
    }
}

[Trait("Category", "Local")]
public sealed class LocalBackendConformanceTests(LocalBackendFixture fixture) : BackendConformanceTests, IClassFixture<LocalBackendFixture>
{
    protected override IComputeBackend Backend => fixture.Backend;
}
