using System.Diagnostics;

namespace CompGrid.VirtualMachines.Tests;

/// <summary>The test VM image built by eng/backends/qemu.sh (found through COMPGRID_QEMU_KERNEL and friends).</summary>
internal static class QemuImage
{
    public const string Variable = "COMPGRID_QEMU_KERNEL";

    public static QemuBackendOptions Options(string node) => new()
    {
        QemuBinary = BackendEnvironment.Get("COMPGRID_QEMU_BINARY", "QEMU"),
        StateDirectory = Path.Combine(BackendEnvironment.Get("COMPGRID_QEMU_STATE", "QEMU"), Guid.NewGuid().ToString("N")[..6]),
        BootTimeout = TimeSpan.FromSeconds(150),
        PowerDownGracePeriod = TimeSpan.FromSeconds(20),
        Templates = { new VmTemplate { Name = "tiny", Kernel = BackendEnvironment.Get(Variable, "QEMU"), Initrd = BackendEnvironment.Get("COMPGRID_QEMU_INITRD", "QEMU"), Cpus = 1, MemoryMiB = 256 } },
        Nodes = { new QemuNodeOptions { Name = node, Template = "tiny", Partitions = { "vms" }, Features = { "vm" } } },
    };
}

/// <summary>One VM (node vm1) booted once for every test of the collection, and powered off at the end.</summary>
public sealed class QemuVmFixture : IAsyncLifetime
{
    private IComputeBackend? _backend;

    public IComputeBackend Backend => _backend ?? throw new InvalidOperationException("QEMU is not available.");

    public IVirtualMachineControl Control => (IVirtualMachineControl)Backend;

    public INodeProvider Power => (INodeProvider)Backend;

    public TimeSpan BootTime { get; private set; }

    public async Task InitializeAsync()
    {
        if (!BackendEnvironment.IsAvailable(QemuImage.Variable)) return;
        _backend = QemuBackend.Create("vms", QemuImage.Options("vm1"));
        var sw = Stopwatch.StartNew();
        await Power.StartNodeAsync("vm1");
        BootTime = sw.Elapsed;
    }

    public async Task DisposeAsync()
    {
        if (_backend is null) return;
        await Power.StopNodeAsync("vm1");
        await ((IAsyncDisposable)_backend).DisposeAsync();
    }
}

[CollectionDefinition("qemu-vm1")]
public sealed class QemuVmCollection : ICollectionFixture<QemuVmFixture>;

/// <summary>Polls real state with a bound (never a blind sleep to make progress).</summary>
internal static class Poll
{
    public static async Task<BackendJobStatus> TerminalAsync(IComputeBackend backend, string id, int seconds = 60)
    {
        var sw = Stopwatch.StartNew();
        BackendJobStatus? last = null;
        while (sw.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            last = await backend.GetStatusAsync(id);
            if (last is not null && last.State.IsTerminal()) return last;
            await Task.Delay(100);
        }
        Assert.Fail($"{id} did not end within {seconds}s; last: {last}");
        return null!;
    }
}
