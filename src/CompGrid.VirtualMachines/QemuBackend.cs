using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.VirtualMachines;

/// <summary>Creates QEMU backends without dependency injection (scripts, tests, custom hosts).</summary>
/// <example>
/// <code>
/// var backend = QemuBackend.Create("vms", new QemuBackendOptions
/// {
///     StateDirectory = "/var/lib/compgrid/vms",
///     Templates = { new VmTemplate { Name = "small", Kernel = "/srv/vm/vmlinuz", Initrd = "/srv/vm/initrd.gz", Cpus = 2, MemoryMiB = 1024 } },
///     Nodes = { new QemuNodeOptions { Name = "vm1", Template = "small" } },
/// });
/// await ((INodeProvider)backend).StartNodeAsync("vm1");
/// </code>
/// </example>
public static class QemuBackend
{
    /// <summary>
    /// Creates a QEMU backend. The result is also an <see cref="INodeProvider"/> (start and stop its VMs), an
    /// <see cref="IVirtualMachineControl"/> (run state, pause, resume) and <see cref="IAsyncDisposable"/> (kills its VMs).
    /// VMs start powered off.
    /// </summary>
    /// <param name="name">The backend name jobs are routed by (<see cref="JobConstraints.Backend"/>).</param>
    /// <param name="options">The options; validated here by the same validator DI uses.</param>
    /// <param name="loggerFactory">Logging, or null for none.</param>
    /// <param name="timeProvider">The clock (boot timeout, power-down grace, walltime), or null for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message names each option and rule.</exception>
    public static IComputeBackend Create(string name, QemuBackendOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(options);
        var errors = QemuBackendOptionsValidator.Errors(name, options);
        if (errors.Count > 0) throw new ArgumentException(string.Join(" ", errors), nameof(options));
        return CreateValidated(name, options, loggerFactory, timeProvider);
    }

    internal static QemuComputeBackend CreateValidated(string name, QemuBackendOptions options, ILoggerFactory? loggerFactory, TimeProvider? timeProvider) =>
        new(name, options, timeProvider ?? TimeProvider.System, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("CompGrid.VirtualMachines"));
}
