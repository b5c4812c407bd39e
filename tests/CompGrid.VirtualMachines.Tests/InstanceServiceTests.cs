namespace CompGrid.VirtualMachines.Tests;

/// <summary>Owner checks, state transitions and input validation of the instance service.</summary>
public sealed class InstanceServiceTests
{
    private static readonly InstanceCaller Alice = new("alice");
    private static readonly InstanceCaller Bob = new("bob");
    private static readonly InstanceCaller Admin = new("root-admin", IsAdministrator: true);
    private static readonly InstanceCaller LabOwner = new("labowner");

    [Fact]
    public async Task OtherUser_CannotSeeOrStop_AdminAndMachineOwnerCan()
    {
        var w = new InstanceWorld();
        await using var s = w.Service();
        var i = await s.StartAsync(Alice, (await s.CreateAsync(Alice, new CreateInstanceRequest { Template = "small", Account = "chem-01" })).Id);

        Assert.Null(await s.GetAsync(Bob, i.Id));
        Assert.Empty(await s.ListAsync(Bob, all: true));
        var ex = await Assert.ThrowsAsync<CompGridException>(() => s.StopAsync(Bob, i.Id));
        Assert.Equal(CompGridErrorCodes.NotFound, ex.Code);
        Assert.True(w.Machines.IsRunning(i.Id));

        Assert.Single(await s.ListAsync(Admin, all: true));
        Assert.Empty(await s.ListAsync(Admin));   // without all: only the caller's own
        Assert.Single(await s.ListAsync(LabOwner, all: true));
        await Assert.ThrowsAsync<CompGridForbiddenException>(() => s.StartAsync(LabOwner, i.Id));   // owners of machines stop, not start
        var stopped = await s.StopAsync(LabOwner, i.Id);
        Assert.Equal(InstanceState.Stopped, stopped.State);
        Assert.Equal("stopped by labowner", stopped.Reason);
    }

    [Fact]
    public async Task InvalidTransitions_ThrowInstanceState_AndChangeNothing()
    {
        var w = new InstanceWorld();
        await using var s = w.Service();
        var i = await s.CreateAsync(Alice, new CreateInstanceRequest { Template = "small", Account = "chem-01" });

        foreach (var op in new Func<Task>[] { () => s.ResumeAsync(Alice, i.Id), () => s.SuspendAsync(Alice, i.Id), () => s.StopAsync(Alice, i.Id) })
        {
            var ex = await Assert.ThrowsAsync<CompGridException>(op);
            Assert.Equal(CompGridErrorCodes.InstanceState, ex.Code);
            Assert.Contains("stopped", ex.Message);
        }
        await s.StartAsync(Alice, i.Id);
        Assert.Equal(CompGridErrorCodes.InstanceState, (await Assert.ThrowsAsync<CompGridException>(() => s.StartAsync(Alice, i.Id))).Code);
        await s.DeleteAsync(Alice, i.Id);
        Assert.False(w.Machines.IsRunning(i.Id));
        Assert.Null(await s.GetAsync(Alice, i.Id));
        Assert.Equal(CompGridErrorCodes.NotFound, (await Assert.ThrowsAsync<CompGridException>(() => s.StartAsync(Alice, i.Id))).Code);
        Assert.Equal(["start " + i.Id, "stop " + i.Id], w.Machines.Calls);
    }

    [Theory]
    [InlineData("huge", "chem-01", "template")]
    [InlineData("small", "", "account")]
    public async Task Create_BadInput_NamesTheField_StoresNothing(string template, string account, string field)
    {
        var w = new InstanceWorld();
        await using var s = w.Service();
        var ex = await Assert.ThrowsAsync<JobValidationException>(() => s.CreateAsync(Alice, new CreateInstanceRequest { Template = template, Account = account }));
        Assert.Equal(field, Assert.Single(ex.Errors).Field);
        Assert.Empty(await w.Store.ListAsync());
    }

    [Fact]
    public async Task Create_OverThePerUserLimit_RefusedWithLimit()
    {
        var w = new InstanceWorld();
        await using var s = w.Service(o => o.MaxInstancesPerUser = 1);
        await s.CreateAsync(Alice, new CreateInstanceRequest { Template = "small", Account = "chem-01" });
        var ex = await Assert.ThrowsAsync<CompGridException>(() => s.CreateAsync(Alice, new CreateInstanceRequest { Template = "small", Account = "chem-01" }));
        Assert.Equal(CompGridErrorCodes.Limit, ex.Code);
        await s.CreateAsync(Bob, new CreateInstanceRequest { Template = "small", Account = "chem-01" });
    }

    [Fact]
    public async Task Start_BootFails_HoldReleased_InstanceStaysStopped()
    {
        var w = new InstanceWorld();
        await using var s = w.Service();
        var i = await s.CreateAsync(Alice, new CreateInstanceRequest { Template = "small", Account = "chem-01" });
        w.Machines.FailStart = true;
        await Assert.ThrowsAsync<CompGridException>(() => s.StartAsync(Alice, i.Id));
        var balance = await w.Billing.GetBalanceAsync("chem-01");
        Assert.Equal(0m, balance.Held);
        Assert.Equal(0m, balance.Charged);
        Assert.Equal(InstanceState.Stopped, (await s.GetAsync(Alice, i.Id))!.State);
    }

    [Fact]
    public async Task FileStore_RecordsSurviveANewStore()
    {
        string dir = Path.Combine(Path.GetTempPath(), "compgrid-instances-" + Guid.NewGuid().ToString("N"));
        var record = new VirtualMachineInstance { Id = "i-0123456789ab", Owner = "alice", Account = "chem-01", Template = "small", Cpus = 1, MemoryMiB = 512, State = InstanceState.Suspended, PeriodStart = InstanceWorld.T0, PeriodRunning = TimeSpan.FromMinutes(7) };
        await new FileInstanceStore(dir).SaveAsync(record);
        var again = new FileInstanceStore(dir);
        Assert.Equal(record, await again.GetAsync(record.Id));
        Assert.Single(await again.ListAsync());
        Assert.Null(await again.GetAsync("../etc/passwd"));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Options_Invalid_NameEachOptionAndRule()
    {
        var o = InstanceWorld.Options(o =>
        {
            o.Qemu.Nodes.Add(new QemuNodeOptions { Name = "vm1", Template = "small" });
            o.MeteringPeriod = TimeSpan.FromSeconds(10);
            o.SuspendIdle = true;
            o.MaxInstancesPerUser = 0;
        });
        var ex = Assert.Throws<ArgumentException>(() => VirtualMachineInstances.Create("instances", o, new InstanceBilling(), new InMemoryInstanceStore()));
        Assert.Contains("Qemu.Nodes must be empty", ex.Message);
        Assert.Contains("MeteringPeriod must be at least 1 minute", ex.Message);
        Assert.Contains("SuspendIdle needs IdleTime", ex.Message);
        Assert.Contains("MaxInstancesPerUser must be at least 1", ex.Message);
    }
}
