using CompGrid.Backfill;
using CompGrid.Limits;
using CompGrid.Ordering;
using CompGrid.Placement;

namespace CompGrid.Scheduling.Tests.Scheduling;

[Trait("Category", "Scheduling")]
public sealed class BackfillTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [SeedProperty(MaxTest = 200)]
    public bool Run_RandomClusters_BackfillNeverDelaysTheReservedJob(int seed)
    {
        var rng = new Random(seed);
        var cluster = new ClusterSnapshot();
        int n = rng.Next(2, 40);
        for (int i = 0; i < n; i++) cluster.AddNode("n" + i, new NodeResources(16, 65536, 0), new NodeResources(16, 65536, 0));
        var running = new List<RunningAllocation>();
        for (int k = 0; k < n * 3; k++)
        {
            var req = new PlacementRequest(rng.Next(1, 17), rng.Next(1, 32) * 1024L, 0, rng.Next(4) == 0 ? rng.Next(1, 4) : 1);
            int[] chosen = new int[req.Nodes];
            if (!cluster.TryFindFirstFit(req, chosen)) continue;
            cluster.AllocateGang(chosen, req);
            running.Add(new RunningAllocation(chosen, req, T0.AddMinutes(rng.Next(-5, 600))));
        }
        var pending = new BackfillCandidate[rng.Next(1, 60)];
        for (int k = 0; k < pending.Length; k++)
            pending[k] = new BackfillCandidate(new PlacementRequest(rng.Next(1, 17), rng.Next(1, 64) * 1024L, 0, rng.Next(3) == 0 ? rng.Next(1, n + 1) : 1),
                TimeSpan.FromMinutes(rng.Next(1, 900)));
        var policy = rng.Next(2) == 0 ? (IPlacementPolicy)new FirstFitPlacementPolicy() : new BestFitPlacementPolicy();
        var scheduler = new EasyBackfillScheduler(policy, new BackfillOptions { EstimateDepth = 20 });
        BackfillResult r = scheduler.Run(cluster, running.ToArray(), pending, T0);
        if (r.ReservationHolder < 0) return true;
        long shadow = r.ShadowTime!.Value.UtcTicks;
        var reserved = r.ReservedNodes.ToHashSet();
        // Long backfilled jobs stay off the reserved nodes.
        for (int k = r.ReservationHolder + 1; k < pending.Length; k++)
            if (r.Started(k) && (T0 + pending[k].Walltime).UtcTicks > shadow && r.NodesOf(k).ToArray().Any(reserved.Contains)) return false;
        // At the shadow time, with every job that ends by then gone, the reserved job fits on its reserved nodes.
        ClusterSnapshot future = cluster.Clone();
        foreach (RunningAllocation a in running)
            if (Math.Max(a.ExpectedEnd.UtcTicks, T0.UtcTicks) <= shadow) future.ReleaseGang(a.Nodes, a.Request);
        for (int k = 0; k < pending.Length; k++)
            if (r.Started(k) && (T0 + pending[k].Walltime).UtcTicks <= shadow) future.ReleaseGang(r.NodesOf(k), pending[k].Request);
        PlacementRequest top = pending[r.ReservationHolder].Request;
        return reserved.Count == top.Nodes && reserved.All(i => future.Fits(i, top));
    }

    [Fact]
    public void Run_BlockedTopJob_ReservesAndBackfillsOnlyShortJobs()
    {
        var cluster = new ClusterSnapshot();
        cluster.AddNode("n0", new NodeResources(4, 4096, 0), new NodeResources(4, 4096, 0));
        cluster.AddNode("n1", new NodeResources(4, 4096, 0), new NodeResources(4, 4096, 0));
        var busy = new PlacementRequest(4, 1024, 0, 1);
        cluster.Allocate(0, busy);
        RunningAllocation[] running = [new([0], busy, T0.AddHours(1))];
        BackfillCandidate[] pending =
        [
            new(new PlacementRequest(4, 1024, 0, 2), TimeSpan.FromHours(3)),   // top: both nodes
            new(new PlacementRequest(1, 512, 0, 1), TimeSpan.FromHours(2)),    // would delay the top job
            new(new PlacementRequest(1, 512, 0, 1), TimeSpan.FromMinutes(30)), // ends before the shadow time
        ];
        var scheduler = new EasyBackfillScheduler(new FirstFitPlacementPolicy());
        BackfillResult r = scheduler.Run(cluster, running, pending, T0);

        Assert.Equal(0, r.ReservationHolder);
        Assert.Equal(T0.AddHours(1), r.ShadowTime);
        Assert.Equal(PendingReason.Resources, r.Reason(0));
        Assert.Equal(T0.AddHours(1), r.EstimatedStart(0));
        Assert.Equal(PendingReason.Reservation, r.Reason(1));
        Assert.Equal(T0.AddHours(4), r.EstimatedStart(1)); // after the top job's 3 hours
        Assert.True(r.Started(2));
        Assert.Equal(1, r.BackfilledCount);
    }

    [Fact]
    public void Run_BackfillDisabled_NothingStartsBehindTheBlockedJob()
    {
        var cluster = new ClusterSnapshot();
        cluster.AddNode("n0", new NodeResources(4, 4096, 0), new NodeResources(4, 4096, 0));
        BackfillCandidate[] pending = [new(new PlacementRequest(8, 1024, 0, 1), TimeSpan.FromHours(1)), new(new PlacementRequest(1, 512, 0, 1), TimeSpan.FromMinutes(1))];
        var r = new EasyBackfillScheduler(new FirstFitPlacementPolicy(), new BackfillOptions { Enabled = false }).Run(cluster, [], pending, T0);
        Assert.Equal(PendingReason.Resources, r.Reason(0)); // never fits: blocks nobody
        Assert.True(r.Started(1));
        Assert.Null(r.EstimatedStart(0));
    }

    [Fact]
    public void SchedulingCycle_UserAtRunningLimit_SecondJobWaitsWithLimitReason()
    {
        var cluster = new ClusterSnapshot();
        cluster.AddNode("n0", new NodeResources(8, 8192, 0), new NodeResources(8, 8192, 0));
        var limits = new ResourceLimitsOptions { Users = { ["ann"] = new ResourceLimit { MaxRunningJobs = 1 } } };
        var cycle = new SchedulingCycle(new FifoQueueOrderingPolicy(), new FirstFitPlacementPolicy(), _ => TimeSpan.FromHours(1), s => 1024, limits: limits);
        JobRecord Job(string id, string owner, int sec) => new()
        {
            Id = id, State = JobState.Queued, SubmittedAt = T0.AddSeconds(sec), Spec = new JobSpec { Owner = owner, Resources = new ResourceRequest { Cpus = 1 } },
        };
        var pending = new List<JobRecord> { Job("a1", "ann", 0), Job("a2", "ann", 1), Job("b1", "bob", 2) };
        var decisions = cycle.Run(cluster, [], pending, T0);
        Assert.True(decisions[0].Start);
        Assert.False(decisions[1].Start);
        Assert.Equal(PendingReason.Limit, decisions[1].Reason);
        Assert.Contains("running jobs", decisions[1].ReasonText, StringComparison.Ordinal);
        Assert.True(decisions[2].Start);
    }

    [Fact]
    public void SchedulingCycle_JobLargerThanCluster_ReasonSaysItCanNeverRun()
    {
        var cluster = new ClusterSnapshot();
        cluster.AddNode("n0", new NodeResources(8, 8192, 0), new NodeResources(8, 8192, 0));
        var cycle = new SchedulingCycle(new MultifactorPriorityPolicy(), new BestFitPlacementPolicy(), _ => TimeSpan.FromHours(1), s => 1024);
        var pending = new List<JobRecord>
        {
            new() { Id = "big", State = JobState.Queued, SubmittedAt = T0, Spec = new JobSpec { Owner = "u", Resources = new ResourceRequest { Cpus = 64 } } },
            new() { Id = "small", State = JobState.Queued, SubmittedAt = T0, Spec = new JobSpec { Owner = "u", Resources = new ResourceRequest { Cpus = 2 } } },
        };
        var decisions = cycle.Run(cluster, [], pending, T0);
        var big = decisions.Single(d => d.Job.Id == "big");
        Assert.Equal(PendingReason.Resources, big.Reason);
        Assert.Contains("never", big.ReasonText, StringComparison.Ordinal);
        Assert.True(decisions.Single(d => d.Job.Id == "small").Start);
    }

    [Fact]
    public async Task LimitsAdmission_TooManySubmitted_RejectsWithLimitCode()
    {
        var limits = new ResourceLimitsOptions { Accounts = { ["chem"] = new ResourceLimit { MaxSubmittedJobs = 2, MaxGpus = 4 } } };
        var check = new ResourceLimitsAdmissionCheck(limits, (a, u, ct) => ValueTask.FromResult((2, 0)));
        var spec = new JobSpec { Owner = "u", Account = "chem" };
        var result = await check.CheckAsync(new AdmissionContext { JobId = "j", Spec = spec, MemoryMiBPerNode = 100 });
        Assert.Equal(AdmissionDecision.Reject, result.Decision);
        Assert.Equal("limit", result.Code);
        var tooBig = await new ResourceLimitsAdmissionCheck(limits, (a, u, ct) => ValueTask.FromResult((0, 0)))
            .CheckAsync(new AdmissionContext { JobId = "j", Spec = spec with { Resources = new ResourceRequest { Gpus = 8 } }, MemoryMiBPerNode = 100 });
        Assert.Equal(AdmissionDecision.Reject, tooBig.Decision);
        Assert.Contains("never", tooBig.Reason, StringComparison.Ordinal);
    }
}
