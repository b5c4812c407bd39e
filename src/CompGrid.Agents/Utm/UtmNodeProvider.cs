using CompGrid.Agents.Protocol;
using Microsoft.Extensions.Logging;

namespace CompGrid.Agents;

/// <summary>
/// UTM VMs as nodes of the agent backend that the power manager can switch on and off. A VM node is up when the agent
/// inside it is connected; while it is not, the Mac's agent is asked for the VM's status, and a stopped or suspended VM
/// is <see cref="NodeState.PoweredOff"/> with the capacity configured for it. Starting runs <c>utmctl start</c> and
/// waits for the VM's agent to register; stopping asks the guest to shut down and powers it off after the grace period.
/// </summary>
internal sealed class UtmNodeProvider(string backend, AgentRegistry registry, IUtmControl utm, TimeProvider time, ILogger logger) : INodeProvider
{
    /// <summary>How often a start or stop looks again (on the injected clock).</summary>
    internal static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(250);

    public string Backend { get; } = backend;

    private IDictionary<string, UtmVirtualMachineOptions> Vms => registry.Options.UtmVirtualMachines;

    public async Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default)
    {
        if (Vms.Count == 0) return [];
        var agentNodes = registry.Nodes(Backend).ToDictionary(n => n.Name, StringComparer.Ordinal);
        var nodes = new List<NodeInfo>(Vms.Count);
        foreach (var (name, vm) in Vms.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var node = agentNodes[name];
            if (node.State == NodeState.Up) { nodes.Add(node); continue; }
            UtmVmStatus status;
            try { status = await utm.GetStatusAsync(vm.Host, vm.Vm, cancellationToken).ConfigureAwait(false); }
            catch (CompGridException ex)
            {
                nodes.Add(node with { NativeState = "utm-unknown: " + ex.Message });
                continue;
            }
            if (status is UtmVmStatus.Stopped or UtmVmStatus.Paused)
            {
                var m = registry.Options.Machines[name];
                var capacity = new NodeResources(m.MaxCpus ?? 0, m.MaxMemoryMiB ?? 0, 0);
                nodes.Add(node with
                {
                    State = NodeState.PoweredOff, Capacity = capacity, Free = capacity, NativeState = "utm-" + status.ToString().ToLowerInvariant(),
                    Features = [.. m.Features],
                });
            }
            else nodes.Add(node with { NativeState = "utm-" + status.ToString().ToLowerInvariant() });
        }
        return nodes;
    }

    public async Task StartNodeAsync(string node, CancellationToken cancellationToken = default)
    {
        var vm = Vm(node, "start");
        if (registry.MachineState(node).Up) return;
        try { await utm.StartAsync(vm.Host, vm.Vm, cancellationToken).ConfigureAwait(false); }
        catch (CompGridException ex)
        {
            throw new CompGridException($"Cannot start UTM VM node '{node}': {ex.Message}", ex)
            { Backend = Backend, Operation = "start-node", Code = CompGridErrorCodes.NodeStartFailed, IsTransient = true };
        }
        Log.UtmNode(logger, node, vm.Vm, vm.Host, "started; waiting for its agent");
        var deadline = time.GetUtcNow() + vm.StartTimeout;
        while (!registry.MachineState(node).Up)
        {
            if (time.GetUtcNow() >= deadline)
                throw new CompGridException($"UTM VM node '{node}' was started, but its agent did not register within {vm.StartTimeout}.")
                { Backend = Backend, Operation = "start-node", Code = CompGridErrorCodes.NodeStartFailed, IsTransient = true };
            await Task.Delay(CheckInterval, time, cancellationToken).ConfigureAwait(false);
        }
        Log.UtmNode(logger, node, vm.Vm, vm.Host, "its agent registered");
    }

    public async Task StopNodeAsync(string node, CancellationToken cancellationToken = default)
    {
        var vm = Vm(node, "stop");
        var status = await utm.GetStatusAsync(vm.Host, vm.Vm, cancellationToken).ConfigureAwait(false);
        if (status == UtmVmStatus.Stopped) return;
        if (status != UtmVmStatus.Paused && vm.StopGracePeriod > TimeSpan.Zero)
        {
            // A clean shutdown first: the guest's agent finishes its clean-up and disconnects.
            await utm.StopAsync(vm.Host, vm.Vm, force: false, cancellationToken).ConfigureAwait(false);
            var deadline = time.GetUtcNow() + vm.StopGracePeriod;
            while (time.GetUtcNow() < deadline)
            {
                await Task.Delay(CheckInterval, time, cancellationToken).ConfigureAwait(false);
                if (await utm.GetStatusAsync(vm.Host, vm.Vm, cancellationToken).ConfigureAwait(false) == UtmVmStatus.Stopped)
                {
                    Log.UtmNode(logger, node, vm.Vm, vm.Host, "shut down");
                    return;
                }
            }
        }
        await utm.StopAsync(vm.Host, vm.Vm, force: true, cancellationToken).ConfigureAwait(false);
        Log.UtmNode(logger, node, vm.Vm, vm.Host, "powered off");
    }

    private UtmVirtualMachineOptions Vm(string node, string operation) =>
        Vms.TryGetValue(node, out var vm) ? vm
        : throw new CompGridException($"'{node}' is not a UTM VM node of backend '{Backend}'.") { Backend = Backend, Operation = operation + "-node", Code = CompGridErrorCodes.NotFound };
}
