using CompGrid.VirtualMachines.Qemu;

namespace CompGrid.VirtualMachines.Tests;

public sealed class QemuOptionsTests
{
    private static readonly string Existing = typeof(QemuOptionsTests).Assembly.Location;

    private static QemuBackendOptions Valid() => new()
    {
        QemuBinary = Existing,
        StateDirectory = "/tmp/cg-vms",
        Templates = { new VmTemplate { Name = "t", Kernel = Existing } },
        Nodes = { new QemuNodeOptions { Name = "vm1", Template = "t" } },
    };

    [Fact]
    public void Create_ValidOptions_NodesStartPoweredOff()
    {
        var backend = QemuBackend.Create("vms", Valid());
        var node = Assert.Single(backend.GetNodesAsync().Result);
        Assert.Equal(NodeState.PoweredOff, node.State);
        Assert.Equal(new NodeResources(1, 256, 0), node.Capacity);
    }

    [Fact]
    public void Create_BadTemplateAndNode_NamesEachFieldAndRule()
    {
        var o = Valid();
        o.Templates[0].Disk = Existing; // both boot sources
        o.Templates[0].Cpus = 0;
        o.Templates[0].GpuPassthrough = true;
        o.Nodes.Add(new QemuNodeOptions { Name = "Bad Name", Template = "missing" });
        o.Accelerator = "hvf";

        var ex = Assert.Throws<ArgumentException>(() => QemuBackend.Create("vms", o));

        Assert.Contains("Templates[0]: set exactly one of Kernel and Disk", ex.Message);
        Assert.Contains("Templates[0].Cpus must be between 1 and 256", ex.Message);
        Assert.Contains("Templates[0].GpuHostAddresses: GpuPassthrough needs at least one PCI address", ex.Message);
        Assert.Contains("Nodes[1].Name 'Bad Name'", ex.Message);
        Assert.Contains("Nodes[1].Template 'missing' names no template", ex.Message);
        Assert.Contains("Accelerator 'hvf'", ex.Message);
    }

    [Fact]
    public void Create_StateDirectoryTooLongForUnixSockets_IsRejected()
    {
        var o = Valid();
        o.StateDirectory = "/" + new string('d', 120);
        var ex = Assert.Throws<ArgumentException>(() => QemuBackend.Create("vms", o));
        Assert.Contains("exceeds 107 bytes", ex.Message);
    }

    [Fact]
    public void Arguments_Template_AreAnArgumentListWithAgentChannelAndPassthrough()
    {
        var t = new VmTemplate { Name = "gpu", Disk = "/images/a,b.qcow2", Cpus = 4, MemoryMiB = 2048, GpuPassthrough = true, GpuHostAddresses = { "0000:65:00.0" } };
        var args = QemuArguments.Build("vm7", t, new VmPaths("/s/vm7"), "tcg");

        Assert.Equal("4", args[args.IndexOf("-smp") + 1]);
        Assert.Equal("2048", args[args.IndexOf("-m") + 1]);
        Assert.Contains("file=/images/a,,b.qcow2,if=virtio,snapshot=on", args); // a comma in a path cannot add an option
        Assert.Contains("vfio-pci,host=0000:65:00.0", args);
        Assert.Contains("socket,path=/s/vm7/qga.sock,server=on,wait=off,id=qga0", args);
        Assert.Contains("unix:/s/vm7/qmp.sock,server=on,wait=off", args);
        Assert.DoesNotContain("-kernel", args);
    }
}
