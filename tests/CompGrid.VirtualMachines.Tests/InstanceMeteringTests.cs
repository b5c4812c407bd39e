using CompGrid.Billing;

namespace CompGrid.VirtualMachines.Tests;

/// <summary>Metering of leased instances on the manual clock, charged through real grant billing (in memory).</summary>
public sealed class InstanceMeteringTests
{
    private static readonly InstanceCaller Alice = new("alice");

    private static async Task<VirtualMachineInstance> RunningAsync(VirtualMachineInstances s, string template = "small")
    {
        var i = await s.CreateAsync(Alice, new CreateInstanceRequest { Template = template, Account = "chem-01" });
        return await s.StartAsync(Alice, i.Id);
    }

    [Theory]
    [InlineData("small", 2)]    // 1 vCPU × 2 CRD per core-hour
    [InlineData("large", 12)]   // 4 vCPU × 3 CRD per core-hour
    public async Task Meter_RunningOneHour_ChargesOneInstanceHourAtItsSizeRate(string template, int perHour)
    {
        var w = new InstanceWorld();
        await using var s = w.Service();
        var i = await RunningAsync(s, template);

        w.Clock.Advance(TimeSpan.FromMinutes(59));
        Assert.Empty((await s.MeterAsync()).Charged);
        w.Clock.Advance(TimeSpan.FromMinutes(1));
        var round = await s.MeterAsync();

        Assert.Equal([VirtualMachineInstance.ChargeKey(i.Id, 0)], round.Charged);
        var line = Assert.Single((await w.StatementAsync()).Charges);
        Assert.Equal(i.Id + ".p0", line.JobId);
        Assert.Equal("alice", line.User);
        Assert.Equal(perHour, Math.Abs(line.Amount));
        Assert.Equal(1m, line.Hours);
        Assert.Equal(perHour, (await w.Billing.GetBalanceAsync("chem-01")).Charged);
        // The next hour is held already, for the same size.
        Assert.Equal(perHour, (await w.Billing.GetBalanceAsync("chem-01")).Held);
    }

    [Fact]
    public async Task Suspend_StopsTheMeter_OnlyRunningTimeIsCharged()
    {
        var w = new InstanceWorld();
        await using var s = w.Service();
        var i = await RunningAsync(s);
        w.Clock.Advance(TimeSpan.FromMinutes(20));
        await s.SuspendAsync(Alice, i.Id);
        Assert.Equal("paused", w.Machines.Running[i.Id]);
        w.Clock.Advance(TimeSpan.FromMinutes(30));
        await s.ResumeAsync(Alice, i.Id);
        w.Clock.Advance(TimeSpan.FromMinutes(10));   // the period [0, 60 min) ends: 30 min ran
        await s.MeterAsync();

        Assert.Equal(1m, (await w.Billing.GetBalanceAsync("chem-01")).Charged);   // half an hour × 2 CRD
        var after = await s.GetAsync(Alice, i.Id);
        Assert.Equal(TimeSpan.FromMinutes(30), after!.MeteredTime);
    }

    [Fact]
    public async Task SuspendedAcrossPeriodEnd_NoNewPeriodUntilResumed()
    {
        var w = new InstanceWorld();
        await using var s = w.Service();
        var i = await RunningAsync(s);
        w.Clock.Advance(TimeSpan.FromMinutes(15));
        await s.SuspendAsync(Alice, i.Id);
        w.Clock.Advance(TimeSpan.FromHours(5));
        Assert.Single((await s.MeterAsync()).Charged);                              // p0 only: 15 minutes
        Assert.Equal(0m, (await w.Billing.GetBalanceAsync("chem-01")).Held);       // nothing held while suspended
        await s.ResumeAsync(Alice, i.Id);
        w.Clock.Advance(TimeSpan.FromMinutes(45));
        await s.StopAsync(Alice, i.Id);

        var balance = await w.Billing.GetBalanceAsync("chem-01");
        Assert.Equal(2m, balance.Charged);   // (15 + 45) minutes × 2 CRD per hour
        Assert.Equal(0m, balance.Held);
        Assert.Equal(2, (await w.StatementAsync()).Charges.Count);
    }

    [Fact]
    public async Task Stop_ClosesTheOpenPeriod_ChargesItsRunningTime_ReleasesNothingElse()
    {
        var w = new InstanceWorld();
        await using var s = w.Service();
        var i = await RunningAsync(s);
        w.Clock.Advance(TimeSpan.FromMinutes(90));
        var stopped = await s.StopAsync(Alice, i.Id);

        Assert.Equal(InstanceState.Stopped, stopped.State);
        Assert.False(w.Machines.IsRunning(i.Id));
        var balance = await w.Billing.GetBalanceAsync("chem-01");
        Assert.Equal(3m, balance.Charged);   // 1.5 hours × 2
        Assert.Equal(0m, balance.Held);
        Assert.Equal([i.Id + ".p0", i.Id + ".p1"], (await w.StatementAsync()).Charges.Select(c => c.JobId).Order().ToArray());
        w.Clock.Advance(TimeSpan.FromHours(3));
        Assert.Empty((await s.MeterAsync()).Charged);   // a stopped instance costs nothing
    }

    [Fact]
    public async Task Meter_CrashAfterDeliveryBeforeSave_RetryDoesNotChargeTwice()
    {
        var w = new InstanceWorld();
        var store = new FailingOnceStore(new InMemoryInstanceStore());
        w.Store = store;
        await using var s = w.Service();
        var i = await RunningAsync(s);
        w.Clock.Advance(TimeSpan.FromHours(1));
        store.FailNextSave = true;
        await Assert.ThrowsAsync<IOException>(() => s.MeterAsync());   // p0 delivered, the record not advanced
        Assert.Equal(2m, (await w.Billing.GetBalanceAsync("chem-01")).Charged);

        var again = await s.MeterAsync();   // delivers p0 again: the same key, so billing ignores it
        Assert.Equal([i.Id + ".p0"], again.Charged);
        Assert.Equal(2m, (await w.Billing.GetBalanceAsync("chem-01")).Charged);
        Assert.Single((await w.StatementAsync()).Charges);
        Assert.Equal(1, (await s.GetAsync(Alice, i.Id))!.Period);
    }

    [Fact]
    public async Task Restart_InstanceWasRunning_ChargedOnlyUpToTheLastObservation_NeverTwice()
    {
        var w = new InstanceWorld();
        w.Store = new FileInstanceStore(Path.Combine(Path.GetTempPath(), "compgrid-instances-" + Guid.NewGuid().ToString("N")));
        var s1 = w.Service();
        var i = await RunningAsync(s1);
        w.Clock.Advance(TimeSpan.FromMinutes(30));
        await s1.MeterAsync();                       // last observation at +30 min
        await s1.DisposeAsync();                     // the portal goes down; its VMs with it
        w.Clock.Advance(TimeSpan.FromHours(2));      // unobserved: not charged

        await using var s2 = w.Service(newMachines: true);
        var recovered = await s2.GetAsync(Alice, i.Id);
        Assert.Equal(InstanceState.Stopped, recovered!.State);
        Assert.Contains("not running", recovered.Reason);
        Assert.Equal(1m, (await w.Billing.GetBalanceAsync("chem-01")).Charged);   // 30 minutes × 2

        await using var s3 = w.Service(newMachines: true);   // another restart changes nothing
        await s3.MeterAsync();
        Assert.Equal(1m, (await w.Billing.GetBalanceAsync("chem-01")).Charged);
        Assert.Single((await w.StatementAsync()).Charges);
    }

    [Fact]
    public async Task Start_GrantCannotFundAnHour_Refused_NothingBoots()
    {
        var w = new InstanceWorld(budget: 1m);   // an hour of "small" costs 2
        await using var s = w.Service();
        var i = await s.CreateAsync(Alice, new CreateInstanceRequest { Template = "small", Account = "chem-01" });

        var ex = await Assert.ThrowsAsync<JobRejectedException>(() => s.StartAsync(Alice, i.Id));
        Assert.Equal(CompGridErrorCodes.InsufficientFunds, ex.Code);
        Assert.Empty(w.Machines.Calls);
        Assert.Equal(InstanceState.Stopped, (await s.GetAsync(Alice, i.Id))!.State);
    }

    [Fact]
    public async Task Meter_GrantRunsOut_InstanceIsSuspendedAtThePeriodEnd()
    {
        var w = new InstanceWorld(budget: 3m);   // one hour (2), not two
        await using var s = w.Service();
        var i = await RunningAsync(s);
        w.Clock.Advance(TimeSpan.FromHours(1));
        var round = await s.MeterAsync();

        Assert.Equal([i.Id], round.Suspended);
        var after = await s.GetAsync(Alice, i.Id);
        Assert.Equal(InstanceState.Suspended, after!.State);
        Assert.Contains("chem-01", after.Reason);
        Assert.Equal("paused", w.Machines.Running[i.Id]);
        w.Clock.Advance(TimeSpan.FromHours(1));
        await s.MeterAsync();
        Assert.Equal(2m, (await w.Billing.GetBalanceAsync("chem-01")).Charged);
    }

    [Fact]
    public async Task Meter_IdleLongerThanTheLimit_ReportedAndSuspended_BusyIsNot()
    {
        var w = new InstanceWorld();
        await using var s = w.Service(o => { o.IdleTime = TimeSpan.FromMinutes(30); o.SuspendIdle = true; o.MeteringInterval = TimeSpan.FromMinutes(1); });
        var idle = await RunningAsync(s);
        var busy = await s.StartAsync(Alice, (await s.CreateAsync(Alice, new CreateInstanceRequest { Template = "small", Account = "chem-01" })).Id);
        await s.MeterAsync();   // first CPU sample
        for (int minute = 1; minute <= 30; minute++)
        {
            w.Clock.Advance(TimeSpan.FromMinutes(1));
            w.Machines.Cpu[busy.Id] += TimeSpan.FromSeconds(30);    // half a vCPU: busy
            w.Machines.Cpu[idle.Id] += TimeSpan.FromSeconds(1);     // under 5 %: idle
            var round = await s.MeterAsync();
            if (minute < 30) Assert.Empty(round.Idle);
            else
            {
                Assert.Equal([idle.Id], round.Idle);
                Assert.Equal([idle.Id], round.Suspended);
            }
        }
        Assert.Equal(InstanceState.Suspended, (await s.GetAsync(Alice, idle.Id))!.State);
        Assert.Contains("idle", (await s.GetAsync(Alice, idle.Id))!.Reason);
        Assert.Equal(InstanceState.Running, (await s.GetAsync(Alice, busy.Id))!.State);
    }
}
