using System.Diagnostics;

namespace CompGrid.VirtualMachines.Tests;

/// <summary>
/// The acceptance scenario on a real VM: a user leases an instance, it boots under QEMU, runs for an hour of the manual
/// metering clock, is stopped (powered off through ACPI), and the hour appears on the owner's grant statement.
/// </summary>
[Trait("Category", "Qemu")]
public sealed class InstanceQemuTests
{
    [BackendFact("QEMU", QemuImage.Variable)]
    public async Task LeasedInstance_RunsAnHour_IsStopped_TheHourIsOnTheOwnersGrantStatement()
    {
        var world = new InstanceWorld();
        var qemu = QemuImage.Options("unused");
        var image = qemu.Templates[0];
        qemu.Nodes.Clear();
        qemu.Templates.Clear();
        qemu.Templates.Add(new VmTemplate { Name = "small", Kernel = image.Kernel, Initrd = image.Initrd, Cpus = 1, MemoryMiB = 256 });
        var options = new VirtualMachineInstancesOptions { Qemu = qemu };
        await using var instances = VirtualMachineInstances.Create("instances", options,
            new InstanceBilling { Funding = world.Billing.AdmissionCheck, UsageSinks = { world.Billing.UsageSink } },
            new InMemoryInstanceStore(), timeProvider: world.Clock);
        var alice = new InstanceCaller("alice");

        var created = await instances.CreateAsync(alice, new CreateInstanceRequest { Template = "small", Account = "chem-01", Name = "analysis box" });
        var sw = Stopwatch.StartNew();
        var running = await instances.StartAsync(alice, created.Id);   // a real boot: returns once qemu-ga answers
        Assert.Equal(InstanceState.Running, running.State);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(150), $"boot took {sw.Elapsed}");
        // The test image has no network device: the guest agent lists only loopback, so there is no address.
        Assert.Null(await instances.GetAddressAsync(alice, created.Id));
        Assert.Equal(2m, (await world.Billing.GetBalanceAsync("chem-01")).Held);   // the first hour is held

        // Pause and resume the real vCPUs (QMP stop / cont) without moving the clock: the meter is unchanged.
        Assert.Equal(InstanceState.Suspended, (await instances.SuspendAsync(alice, created.Id)).State);
        Assert.Equal(InstanceState.Running, (await instances.ResumeAsync(alice, created.Id)).State);

        world.Clock.Advance(TimeSpan.FromHours(1));
        var round = await instances.MeterAsync();
        Assert.Equal([created.Id + ".p0"], round.Charged);

        var stopped = await instances.StopAsync(alice, created.Id);   // ACPI power-down of the real guest
        Assert.Equal(InstanceState.Stopped, stopped.State);
        Assert.Equal(TimeSpan.FromHours(1), stopped.MeteredTime);

        var statement = await world.StatementAsync();
        var line = Assert.Single(statement.Charges);
        Assert.Equal(created.Id + ".p0", line.JobId);
        Assert.Equal("alice", line.User);
        Assert.Equal(1m, line.Hours);
        Assert.Equal(2m, Math.Abs(line.Amount));
        Assert.Equal(2m, statement.TotalCharges < 0 ? -statement.TotalCharges : statement.TotalCharges);
        Assert.Equal(0m, (await world.Billing.GetBalanceAsync("chem-01")).Held);   // the second period's hold was released at stop
    }
}
