namespace CompGrid.VirtualMachines;

/// <summary>
/// Machine-level control of a VM backend's nodes, beyond power (<see cref="INodeProvider"/>): the run state QEMU
/// reports, pause and resume, and the machine events seen. The backend <see cref="QemuBackend.Create"/> returns
/// implements it.
/// </summary>
public interface IVirtualMachineControl
{
    /// <summary>The VM's run state as QEMU reports it (<c>running</c>, <c>paused</c>, <c>shutdown</c>, …). Throws when the VM is off.</summary>
    Task<string> GetRunStateAsync(string node, CancellationToken cancellationToken = default);

    /// <summary>Pauses the VM's vCPUs (QMP <c>stop</c>); its jobs are frozen, not ended.</summary>
    Task PauseAsync(string node, CancellationToken cancellationToken = default);

    /// <summary>Resumes a paused VM (QMP <c>cont</c>).</summary>
    Task ResumeAsync(string node, CancellationToken cancellationToken = default);

    /// <summary>The names of the machine events of the VM's current or last run, oldest first (<c>STOP</c>, <c>RESUME</c>, <c>POWERDOWN</c>, <c>SHUTDOWN</c>, …).</summary>
    IReadOnlyList<string> GetEvents(string node);
}
