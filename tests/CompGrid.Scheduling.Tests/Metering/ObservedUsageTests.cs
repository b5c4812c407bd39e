using CompGrid.Metering;

namespace CompGrid.Scheduling.Tests.Metering;

[Trait("Category", "Scheduling")]
public sealed class ObservedUsageTests
{
    private static readonly DateTimeOffset Dispatched = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    private static JobRecord Job(int cpus = 2, int nodes = 1) => new()
    {
        Id = "cg-bob", State = JobState.Completed, ExitCode = 0, Backend = "local", BackendJobId = "p-1", Nodes = ["n1"],
        SubmittedAt = Dispatched.AddMinutes(-1), DispatchedAt = Dispatched, StartedAt = Dispatched.AddSeconds(1), EndedAt = Dispatched.AddSeconds(11),
        Spec = new JobSpec { Name = "t", Owner = "bob", Account = "bob-lab", Payload = JobPayload.Command("x"), Resources = new() { Cpus = cpus, Nodes = nodes, MemoryMiB = 512 } },
    };

    [Fact]
    public void Meter_RewrittenMetadata_StartIn2000AnotherUsersGrantMoreCpus_IsClampedFlaggedAndUsesTheJobsAccount()
    {
        // What bob's job wrote into the backend's record: alice's grant, a start in 2000 (26 years), 64 CPUs.
        var lie = new UsageRecord
        {
            JobId = "cg-bob", Account = "alice-lab", User = "alice",
            StartedAt = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero), EndedAt = Dispatched.AddSeconds(11),
            Elapsed = Dispatched.AddSeconds(11) - new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero),
            AllocatedCpus = 64, AllocatedMemoryMiB = 1_000_000, NodeCount = 1,
            CpuTime = TimeSpan.FromDays(365 * 26),
        };
        var u = ObservedUsage.Meter(Job(), lie, memoryMiBPerNode: 512, observedEnd: Dispatched.AddSeconds(12));

        Assert.Equal("bob-lab", u.Account);
        Assert.Equal("bob", u.User);
        Assert.Equal(Dispatched, u.StartedAt); // moved into the observed window
        Assert.Equal(TimeSpan.FromSeconds(11), u.Elapsed);
        Assert.Equal(2, u.AllocatedCpus);
        Assert.Equal(512, u.AllocatedMemoryMiB);
        Assert.Equal(TimeSpan.FromSeconds(22), u.CpuTime); // at most CPUs × elapsed
        Assert.True(u.Flags.HasFlag(UsageFlags.StartClamped));
        Assert.True(u.Flags.HasFlag(UsageFlags.ElapsedClamped));
        Assert.True(u.Flags.HasFlag(UsageFlags.CpusClamped));
        Assert.True(u.Flags.HasFlag(UsageFlags.MemoryClamped));
        Assert.True(u.Flags.HasFlag(UsageFlags.AccountReplaced));
        Assert.True(u.Flags.HasFlag(UsageFlags.IdentityReplaced));
        Assert.True(u.Flags.HasFlag(UsageFlags.CpuTimeClamped));
        Assert.Contains(u.Adjustments, a => a.StartsWith("account: reported alice-lab, used bob-lab", StringComparison.Ordinal));
        Assert.Contains(u.Adjustments, a => a.StartsWith("startedAt: reported 2000-01-01", StringComparison.Ordinal));
    }

    [Fact]
    public void Meter_EndAfterTheEngineSawIt_IsClampedToTheObservedEnd()
    {
        var job = Job();
        var lie = new UsageRecord { StartedAt = job.StartedAt, EndedAt = Dispatched.AddYears(1), Elapsed = TimeSpan.FromDays(365), AllocatedCpus = 2 };
        var u = ObservedUsage.Meter(job, lie, 512, observedEnd: Dispatched.AddSeconds(20));
        Assert.Equal(Dispatched.AddSeconds(20), u.EndedAt);
        Assert.Equal(TimeSpan.FromSeconds(19), u.Elapsed);
        Assert.Equal(UsageFlags.EndClamped | UsageFlags.ElapsedClamped, u.Flags);
    }

    [Fact]
    public void Meter_HonestReport_KeepsItsTimesAndMeasurementsUnflagged()
    {
        var job = Job();
        var honest = new UsageRecord
        {
            JobId = job.Id, Account = "bob-lab", User = "bob", StartedAt = job.StartedAt, EndedAt = job.EndedAt, Elapsed = TimeSpan.FromSeconds(10),
            AllocatedCpus = 2, AllocatedMemoryMiB = 512, NodeCount = 1, CpuTime = TimeSpan.FromSeconds(7), PeakMemoryBytes = 100 << 20,
        };
        var u = ObservedUsage.Meter(job, honest, 512, observedEnd: Dispatched.AddSeconds(12));
        Assert.Equal(UsageFlags.None, u.Flags);
        Assert.Empty(u.Adjustments);
        Assert.Equal(TimeSpan.FromSeconds(10), u.Elapsed);
        Assert.Equal(TimeSpan.FromSeconds(7), u.CpuTime);
        Assert.Equal(100L << 20, u.PeakMemoryBytes);
    }

    [Fact]
    public void Meter_NoReport_UsesTheEnginesRecordAndAllocation()
    {
        var u = ObservedUsage.Meter(Job(cpus: 4, nodes: 2), null, 512, observedEnd: Dispatched.AddSeconds(12));
        Assert.Equal((8, 1024L, 2, TimeSpan.FromSeconds(10)), (u.AllocatedCpus, u.AllocatedMemoryMiB, u.NodeCount, u.Elapsed));
        Assert.Equal(UsageFlags.None, u.Flags);
    }

    [Fact]
    public void Meter_NeverDispatched_IsZeroEvenIfABackendClaimsOtherwise()
    {
        var job = Job() with { BackendJobId = null, StartedAt = null, DispatchedAt = null, State = JobState.Cancelled };
        var u = ObservedUsage.Meter(job, new UsageRecord { Elapsed = TimeSpan.FromHours(5), AllocatedCpus = 16 }, 512, Dispatched);
        Assert.Equal((TimeSpan.Zero, 0, 0L), (u.Elapsed, u.AllocatedCpus, u.AllocatedMemoryMiB));
        Assert.True(u.Flags.HasFlag(UsageFlags.ElapsedClamped));
        Assert.True(u.Flags.HasFlag(UsageFlags.CpusClamped));
    }

    [Fact]
    public void Meter_NegativeAndHugeMeasurements_AreCapped()
    {
        var job = Job();
        var u = ObservedUsage.Meter(job, new UsageRecord { StartedAt = job.StartedAt, EndedAt = job.EndedAt, Elapsed = TimeSpan.FromSeconds(10), CpuTime = TimeSpan.FromSeconds(-5), PeakMemoryBytes = long.MaxValue }, 512, Dispatched.AddSeconds(12));
        Assert.Equal(TimeSpan.Zero, u.CpuTime);
        Assert.Equal(512L << 20, u.PeakMemoryBytes);
        Assert.Equal(UsageFlags.CpuTimeClamped | UsageFlags.PeakMemoryClamped, u.Flags);
    }
}
