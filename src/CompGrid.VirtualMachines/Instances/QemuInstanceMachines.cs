using System.Collections.Concurrent;
using System.Net.Sockets;
using CompGrid.VirtualMachines.Qemu;
using Microsoft.Extensions.Logging;

namespace CompGrid.VirtualMachines;

/// <summary>Instance VMs on QEMU: each instance id is a VM named after it, made from its template when it starts.</summary>
internal sealed class QemuInstanceMachines(string name, QemuBackendOptions options, TimeProvider machineClock, ILogger logger) : IInstanceMachines
{
    private readonly ConcurrentDictionary<string, QemuVm> _vms = new(StringComparer.Ordinal);

    public async Task StartAsync(string id, VmTemplate template, CancellationToken cancellationToken)
    {
        var vm = _vms.GetOrAdd(id, _ => new QemuVm(name, new QemuNodeOptions { Name = id, Template = template.Name }, template, options, machineClock, logger));
        await vm.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync(string id, CancellationToken cancellationToken)
    {
        if (!_vms.TryRemove(id, out var vm)) return;
        // A paused guest cannot answer the ACPI button: let it run for the power-down.
        if (vm.Power == VmPower.Up && await vm.Qmp.QueryStatusAsync(cancellationToken).ConfigureAwait(false) == "paused")
            await vm.Qmp.ExecuteAsync("cont", null, cancellationToken).ConfigureAwait(false);
        await vm.StopAsync(cancellationToken).ConfigureAwait(false);
        await vm.DisposeAsync().ConfigureAwait(false);
    }

    public async Task PauseAsync(string id, CancellationToken cancellationToken) =>
        await Vm(id).Qmp.ExecuteAsync("stop", null, cancellationToken).ConfigureAwait(false);

    public async Task ResumeAsync(string id, CancellationToken cancellationToken) =>
        await Vm(id).Qmp.ExecuteAsync("cont", null, cancellationToken).ConfigureAwait(false);

    public bool IsRunning(string id) => _vms.TryGetValue(id, out var vm) && vm.Power == VmPower.Up;

    public TimeSpan? CpuTime(string id) => _vms.TryGetValue(id, out var vm) ? vm.ProcessCpuTime : null;

    public async Task<string?> GetAddressAsync(string id, CancellationToken cancellationToken)
    {
        var addresses = await Vm(id).Agent.GetAddressesAsync(cancellationToken).ConfigureAwait(false);
        return (addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault())?.ToString();
    }

    private QemuVm Vm(string id) => _vms.TryGetValue(id, out var vm) ? vm
        : throw new CompGridException($"The VM of instance '{id}' is not running.") { Backend = name, Code = CompGridErrorCodes.InstanceState };

    public async ValueTask DisposeAsync()
    {
        foreach (var vm in _vms.Values) await vm.DisposeAsync().ConfigureAwait(false);
        _vms.Clear();
    }
}
