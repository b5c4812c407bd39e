namespace CompGrid.VirtualMachines;

/// <summary>The machines behind leased instances: one VM per instance id. The QEMU implementation is <see cref="QemuInstanceMachines"/>.</summary>
internal interface IInstanceMachines : IAsyncDisposable
{
    /// <summary>Boots the VM of <paramref name="id"/> from <paramref name="template"/>; returns once it is up.</summary>
    Task StartAsync(string id, VmTemplate template, CancellationToken cancellationToken);

    /// <summary>Powers the VM off (ACPI, then quit, then kill); no effect when it is not running.</summary>
    Task StopAsync(string id, CancellationToken cancellationToken);

    /// <summary>Pauses the vCPUs (QMP <c>stop</c>).</summary>
    Task PauseAsync(string id, CancellationToken cancellationToken);

    /// <summary>Resumes the vCPUs (QMP <c>cont</c>).</summary>
    Task ResumeAsync(string id, CancellationToken cancellationToken);

    /// <summary>Whether the VM's process runs.</summary>
    bool IsRunning(string id);

    /// <summary>The CPU time of the VM's process as the host measures it, or null when it does not run.</summary>
    TimeSpan? CpuTime(string id);

    /// <summary>The guest's first non-loopback IP address (IPv4 first) from the guest agent, or null.</summary>
    Task<string?> GetAddressAsync(string id, CancellationToken cancellationToken);
}
