namespace CompGrid.VirtualMachines;

/// <summary>
/// Options of a QEMU backend: the templates VMs are made from, the VM nodes, and how QEMU is run. Bindable from
/// configuration (for example <c>CompGrid:VirtualMachines:Qemu</c>).
/// </summary>
public sealed class QemuBackendOptions
{
    /// <summary>The QEMU system emulator.</summary>
    /// <value>The default is <c>/usr/bin/qemu-system-x86_64</c>.</value>
    public string QemuBinary { get; set; } = "/usr/bin/qemu-system-x86_64";

    /// <summary>
    /// A folder for each VM's QMP and guest-agent sockets, pid file and serial log (one subfolder per node). Unix socket
    /// paths are limited to 107 bytes, so keep it short.
    /// </summary>
    /// <value>The default is empty; it is required.</value>
    public string StateDirectory { get; set; } = "";

    /// <summary>The accelerator: <c>tcg</c> (emulation, works everywhere) or <c>kvm</c> (needs hardware virtualisation).</summary>
    /// <value>The default is <c>tcg</c>.</value>
    public string Accelerator { get; set; } = "tcg";

    /// <summary>The templates nodes are made from.</summary>
    /// <value>The default is empty.</value>
    public IList<VmTemplate> Templates { get; set; } = [];

    /// <summary>The VM nodes of this backend; each is one VM made from a template.</summary>
    /// <value>The default is empty.</value>
    public IList<QemuNodeOptions> Nodes { get; set; } = [];

    /// <summary>How long a VM may take from start until its guest agent answers (Slurm's <c>ResumeTimeout</c> for one VM).</summary>
    /// <value>The default is 2 minutes.</value>
    public TimeSpan BootTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a guest has to power off after the ACPI power button before QEMU is told to quit.</summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan PowerDownGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one QMP or guest-agent command may take.</summary>
    /// <value>The default is 10 seconds.</value>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The folder inside each VM below which every job gets a working directory of its own.</summary>
    /// <value>The default is <c>/tmp/compgrid</c>.</value>
    public string GuestWorkRoot { get; set; } = "/tmp/compgrid";
}

/// <summary>What a VM is made of: boot source, size and devices.</summary>
public sealed class VmTemplate
{
    /// <summary>The template's name, referenced by <see cref="QemuNodeOptions.Template"/>.</summary>
    /// <value>The default is empty; it is required.</value>
    public string Name { get; set; } = "";

    /// <summary>A kernel image booted directly (<c>-kernel</c>); set this or <see cref="Disk"/>.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? Kernel { get; set; }

    /// <summary>An initial ramdisk for <see cref="Kernel"/> (<c>-initrd</c>).</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? Initrd { get; set; }

    /// <summary>The kernel command line for <see cref="Kernel"/>; CompGrid appends <c>compgrid.hostname=&lt;node&gt;</c>.</summary>
    /// <value>The default is <c>console=ttyS0 panic=-1 quiet</c>.</value>
    public string KernelArguments { get; set; } = "console=ttyS0 panic=-1 quiet";

    /// <summary>A disk image (qcow2 or raw) to boot from; opened with <c>snapshot=on</c> so a VM never changes the template.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? Disk { get; set; }

    /// <summary>Virtual CPUs.</summary>
    /// <value>The default is 1.</value>
    public int Cpus { get; set; } = 1;

    /// <summary>Memory in MiB.</summary>
    /// <value>The default is 256.</value>
    public long MemoryMiB { get; set; } = 256;

    /// <summary>Whether the VM gets the host GPUs in <see cref="GpuHostAddresses"/> through VFIO passthrough.</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool GpuPassthrough { get; set; }

    /// <summary>The PCI addresses (<c>0000:65:00.0</c>) of the host GPUs passed through when <see cref="GpuPassthrough"/> is set.</summary>
    /// <value>The default is empty.</value>
    public IList<string> GpuHostAddresses { get; set; } = [];

    /// <summary>The GPU model reported for the node (for example <c>a100</c>).</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? GpuModel { get; set; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {Cpus} vCPU, {MemoryMiB} MiB{(GpuPassthrough ? $", {GpuHostAddresses.Count} GPU" : "")}";
}

/// <summary>One VM node of a QEMU backend.</summary>
public sealed class QemuNodeOptions
{
    /// <summary>The node name: lower-case letters, digits and '-', at most 32 characters (it names the VM's state folder).</summary>
    /// <value>The default is empty; it is required.</value>
    public string Name { get; set; } = "";

    /// <summary>The name of the <see cref="VmTemplate"/> the VM is made from.</summary>
    /// <value>The default is empty; it is required.</value>
    public string Template { get; set; } = "";

    /// <summary>The node's features (placement constraints).</summary>
    /// <value>The default is empty.</value>
    public IList<string> Features { get; set; } = [];

    /// <summary>The node pools (partitions) the node belongs to.</summary>
    /// <value>The default is empty.</value>
    public IList<string> Partitions { get; set; } = [];
}
