using System.Globalization;

namespace CompGrid.VirtualMachines.Qemu;

/// <summary>The files of one VM below the backend's state folder.</summary>
internal sealed record VmPaths(string Directory)
{
    public string Qmp => Path.Combine(Directory, "qmp.sock");
    public string Agent => Path.Combine(Directory, "qga.sock");
    public string Pid => Path.Combine(Directory, "qemu.pid");
    public string Serial => Path.Combine(Directory, "serial.log");
}

/// <summary>Builds QEMU's argument list from a template: an argument list, never a shell string.</summary>
internal static class QemuArguments
{
    /// <summary>The character device id of the guest agent's channel (checked with <c>query-chardev</c>).</summary>
    public const string AgentChardev = "qga0";

    public static List<string> Build(string node, VmTemplate template, VmPaths paths, string accelerator)
    {
        var a = new List<string>
        {
            "-name", node,
            "-machine", $"q35,accel={accelerator}",
            "-cpu", accelerator == "kvm" ? "host" : "max",
            "-smp", template.Cpus.ToString(CultureInfo.InvariantCulture),
            "-m", template.MemoryMiB.ToString(CultureInfo.InvariantCulture),
            "-nodefaults", "-display", "none", "-no-reboot",
            "-serial", "file:" + paths.Serial,
            "-qmp", $"unix:{paths.Qmp},server=on,wait=off",
            "-pidfile", paths.Pid,
            "-device", "virtio-serial",
            "-chardev", $"socket,path={paths.Agent},server=on,wait=off,id={AgentChardev}",
            "-device", $"virtserialport,chardev={AgentChardev},name=org.qemu.guest_agent.0",
        };
        if (template.Kernel is not null)
        {
            a.AddRange(["-kernel", template.Kernel]);
            if (template.Initrd is not null) a.AddRange(["-initrd", template.Initrd]);
            a.AddRange(["-append", $"{template.KernelArguments} compgrid.hostname={node}".Trim()]);
        }
        if (template.Disk is not null)
            a.AddRange(["-drive", $"file={EscapeOption(template.Disk)},if=virtio,snapshot=on"]);
        if (template.GpuPassthrough)
            foreach (var address in template.GpuHostAddresses) a.AddRange(["-device", $"vfio-pci,host={address}"]);
        return a;
    }

    // QEMU's option parser splits on ',' — a literal comma in a value is written twice.
    private static string EscapeOption(string value) => value.Replace(",", ",,", StringComparison.Ordinal);
}
