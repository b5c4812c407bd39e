using CompGrid.Scheduling.Power;

namespace CompGrid.VirtualMachines.Tests;

/// <summary>
/// The acceptance scenario on a real VM: a queued job that needs a powered-off VM makes the power manager boot it, the
/// engine runs the job inside it, and once the VM has been idle for IdleTime (on the manual clock) it is powered off.
/// </summary>
[Collection("qemu-vm1")]
[Trait("Category", "Qemu")]
public sealed class PowerManagerQemuTests
{
    [BackendFact("QEMU", QemuImage.Variable)]
    public async Task QueuedJob_NeedsPoweredOffVm_PowerManagerStartsIt_JobRuns_IdleVmIsStopped()
    {
        await using var backendOwner = (IAsyncDisposable)QemuBackend.Create("elastic", QemuImage.Options("vm2"));
        var backend = (IComputeBackend)backendOwner;
        var provider = (INodeProvider)backend;
        await using var grid = CompGridEngine.Create(b => b.AddBackend(backend).UseJobStore(new InMemoryJobStore()));
        await grid.StartAsync();
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var power = PowerManager.Create(grid, [provider], new PowerManagerOptions { IdleTime = TimeSpan.FromMinutes(10) }, timeProvider: clock);
        Assert.Equal(NodeState.PoweredOff, (await provider.GetNodesAsync())[0].State);

        var job = await grid.SubmitAsync(new JobSpec
        {
            Owner = "alice",
            Payload = JobPayload.Command("echo powered up in $(hostname)"),
            Resources = new ResourceRequest { Cpus = 1, MemoryMiB = 128 },
            Constraints = new JobConstraints { Backend = "elastic" },
        });
        var actions = await power.RunOnceAsync();
        Assert.Equal(["elastic/vm2"], actions.Starting);
        Assert.Empty((await power.RunOnceAsync()).Starting); // the boot in flight already covers the job
        await power.WhenSettledAsync();
        Assert.Empty(power.DownNodes);
        Assert.Equal(NodeState.Up, (await provider.GetNodesAsync())[0].State);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var done = await grid.WaitForCompletionAsync(job.Id, timeout.Token);
        Assert.Equal(JobState.Completed, done.State);
        Assert.Equal(["vm2"], done.Nodes);
        Assert.Contains("powered up in vm2", (await grid.GetLogsAsync(job.Id)).StandardOutput);

        Assert.Empty((await power.RunOnceAsync()).Stopping); // idle from now
        clock.Advance(TimeSpan.FromMinutes(9));
        Assert.Empty((await power.RunOnceAsync()).Stopping);
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(["elastic/vm2"], (await power.RunOnceAsync()).Stopping);
        await power.WhenSettledAsync();

        Assert.Equal(NodeState.PoweredOff, (await provider.GetNodesAsync())[0].State);
        var events = ((IVirtualMachineControl)backend).GetEvents("vm2");
        Assert.Contains("POWERDOWN", events); // the ACPI button, answered by the guest
        Assert.Contains("SHUTDOWN", events);
    }
}
