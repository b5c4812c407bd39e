namespace CompGrid.VirtualMachines;

/// <summary>
/// Options of the leased-instance service: the QEMU settings and templates (sizes) instances are made from, limits,
/// metering and the idle policy. Bindable from configuration (for example <c>CompGrid:VirtualMachines:Instances</c>).
/// </summary>
public sealed class VirtualMachineInstancesOptions
{
    /// <summary>
    /// How QEMU is run and the templates users choose from (each template is a size: vCPUs and memory).
    /// <see cref="QemuBackendOptions.Nodes"/> must stay empty: instances make their own VMs.
    /// </summary>
    /// <value>The default is a new <see cref="QemuBackendOptions"/>; its <c>StateDirectory</c> and <c>Templates</c> are required.</value>
    public QemuBackendOptions Qemu { get; set; } = new();

    /// <summary>The folder instance records are kept in (one JSON file each), or null for <c>&lt;Qemu.StateDirectory&gt;/instances</c>.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? StoreDirectory { get; set; }

    /// <summary>The length of a metering period: each is held for before it starts and charged once when it ends.</summary>
    /// <value>The default is 1 hour.</value>
    public TimeSpan MeteringPeriod { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often the hosted metering round runs (closes ended periods, checks idleness).</summary>
    /// <value>The default is 1 minute.</value>
    public TimeSpan MeteringInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The most instances (not deleted) that may exist at once.</summary>
    /// <value>The default is 16.</value>
    public int MaxInstances { get; set; } = 16;

    /// <summary>The most instances (not deleted) one user may have.</summary>
    /// <value>The default is 2.</value>
    public int MaxInstancesPerUser { get; set; } = 2;

    /// <summary>How long a running instance may stay idle before it is reported, or null to never report.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public TimeSpan? IdleTime { get; set; }

    /// <summary>
    /// The share of one vCPU below which the VM counts as idle, measured by the engine on the QEMU process (its CPU time
    /// between two metering rounds), never by what the guest reports.
    /// </summary>
    /// <value>The default is 0.05.</value>
    public double IdleCpuFraction { get; set; } = 0.05;

    /// <summary>Whether instances idle longer than <see cref="IdleTime"/> are suspended (otherwise only reported).</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool SuspendIdle { get; set; }

    /// <summary>Users who own the machines and may list and stop every instance (besides administrators).</summary>
    /// <value>The default is empty.</value>
    public IList<string> MachineOwners { get; set; } = [];
}
