using CompGrid.Placement;

namespace CompGrid.Scheduling.Tests.Placement;

[Trait("Category", "Placement")]
[Trait("Category", "Scheduling")]
public sealed class PlacementPropertyTests
{
    private sealed record Held(int[] Nodes, PlacementRequest Request);

    // Runs a random sequence of placements and releases with one policy, checking `check` before each placement.
    private static bool Run(int seed, IPlacementPolicy policy, Func<ClusterSnapshot, PlacementRequest, int[]?, bool> check, int steps = 150)
    {
        var rng = new Random(seed);
        ClusterSnapshot s = RandomCluster.Create(rng);
        var held = new List<Held>();
        var used = new (int Cpus, long Mem, int Gpus)[s.Count];
        var initialFree = Enumerable.Range(0, s.Count).Select(i => (s.FreeCpus[i], s.FreeMemoryMiB[i], s.FreeGpus[i])).ToArray();
        for (int step = 0; step < steps; step++)
        {
            if (held.Count > 0 && rng.Next(3) == 0)
            {
                int k = rng.Next(held.Count);
                Held h = held[k];
                held.RemoveAt(k);
                s.ReleaseGang(h.Nodes, h.Request);
                foreach (int n in h.Nodes) used[n] = (used[n].Cpus - h.Request.Cpus, used[n].Mem - h.Request.MemoryMiB, used[n].Gpus - h.Request.Gpus);
            }
            else if (rng.Next(20) == 0)
            {
                int n = rng.Next(s.Count);
                s.SetSchedulable(n, !s.Schedulable[n]);
            }
            else
            {
                PlacementRequest r = RandomCluster.Request(rng, s);
                int[] chosen = new int[r.Nodes];
                int[]? result = policy.TryPlace(s, r, chosen) ? chosen : null;
                if (!check(s, r, result)) return false;
                if (result is not null)
                {
                    s.AllocateGang(result, r);
                    held.Add(new Held(result, r));
                    foreach (int n in result) used[n] = (used[n].Cpus + r.Cpus, used[n].Mem + r.MemoryMiB, used[n].Gpus + r.Gpus);
                }
            }
            // No over-commit: free never negative, and free + what is held equals what was free at the start.
            for (int i = 0; i < s.Count; i++)
            {
                if (s.FreeCpus[i] < 0 || s.FreeMemoryMiB[i] < 0 || s.FreeGpus[i] < 0) return false;
                if (s.FreeCpus[i] + used[i].Cpus != initialFree[i].Item1 || s.FreeMemoryMiB[i] + used[i].Mem != initialFree[i].Item2
                    || s.FreeGpus[i] + used[i].Gpus != initialFree[i].Item3) return false;
            }
        }
        return true;
    }

    [SeedProperty]
    public bool FirstFit_RandomSequences_ChoosesExactlyWhatNaiveFirstFitChooses(int seed) =>
        Run(seed, new FirstFitPlacementPolicy(), (s, r, got) =>
        {
            int[]? want = NaivePlacement.FirstFit(s, r);
            return want is null ? got is null : got is not null && want.SequenceEqual(got);
        });

    [SeedProperty]
    public bool BestFit_RandomSequences_ChoosesExactlyWhatNaiveBestFitChooses(int seed) =>
        Run(seed, new BestFitPlacementPolicy(), (s, r, got) =>
        {
            int[]? want = NaivePlacement.BestFit(s, r, spread: false);
            return want is null ? got is null : got is not null && want.SequenceEqual(got);
        });

    [SeedProperty]
    public bool Spread_RandomSequences_ChoosesExactlyWhatNaiveSpreadChooses(int seed) =>
        Run(seed, new SpreadPlacementPolicy(), (s, r, got) =>
        {
            int[]? want = NaivePlacement.BestFit(s, r, spread: true);
            return want is null ? got is null : got is not null && want.SequenceEqual(got);
        });

    [SeedProperty(MaxTest = 50)]
    public bool AllPolicies_RandomSequences_ConstraintsHoldAndGangsAreAllOrNothing(int seed) =>
        SchedulingPolicyRegistry.BuiltInPlacement().All(policy => Run(seed, policy, (s, r, got) =>
        {
            int fitting = Enumerable.Range(0, s.Count).Count(i => NaivePlacement.Fits(s, i, r));
            if (got is null) return fitting < r.Nodes; // refused only when it really does not fit
            return got.Length == r.Nodes && got.Distinct().Count() == r.Nodes && got.All(i => NaivePlacement.Fits(s, i, r));
        }));

    [Fact]
    public void GpuAware_JobWithoutGpus_AvoidsGpuNodesWhileOthersFit()
    {
        var s = new ClusterSnapshot();
        s.AddNode("gpu0", new NodeResources(64, 65536, 4), new NodeResources(64, 65536, 4), gpuModel: "a100");
        s.AddNode("cpu0", new NodeResources(8, 16384, 0), new NodeResources(8, 16384, 0));
        var policy = new GpuAwarePlacementPolicy();
        int[] chosen = new int[1];
        Assert.True(policy.TryPlace(s, new PlacementRequest(4, 1024, 0, 1), chosen));
        Assert.Equal("cpu0", s.Names[chosen[0]]);
        s.Allocate(chosen[0], new PlacementRequest(8, 1024, 0, 1));
        Assert.True(policy.TryPlace(s, new PlacementRequest(4, 1024, 0, 1), chosen));
        Assert.Equal("gpu0", s.Names[chosen[0]]); // falls back when no CPU node fits
        Assert.True(policy.TryPlace(s, new PlacementRequest(4, 1024, 1, 1, GpuModel: s.GetGpuModelId("a100")), chosen));
        Assert.Equal("gpu0", s.Names[chosen[0]]);
    }

    [Fact]
    public void FirstFit_WarmShape_AllocatesNothing()
    {
        var rng = new Random(7);
        ClusterSnapshot s = RandomCluster.Create(rng, 2000);
        var policy = new FirstFitPlacementPolicy();
        var r = new PlacementRequest(1, 256, 0, 1);
        int[] chosen = new int[1];
        policy.TryPlace(s, r, chosen); // warm: builds the index and the shape cursor
        s.Allocate(chosen[0], r);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int k = 0; k < 1000; k++)
        {
            if (!policy.TryPlace(s, r, chosen)) break;
            s.Allocate(chosen[0], r);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Registry_UnknownName_ThrowsListingKnownPolicies()
    {
        var registry = SchedulingPolicyRegistry.CreateDefault();
        var ex = Assert.Throws<ArgumentException>(() => registry.GetPlacement("worst-fit"));
        Assert.Contains("best-fit", ex.Message, StringComparison.Ordinal);
        Assert.Same(registry.GetPlacement("FIRST-FIT"), registry.GetPlacement("first-fit"));
    }

    [Fact]
    public void Snapshot_TryCreateRequest_UnknownPartitionOrModel_ReturnsReason()
    {
        var s = new ClusterSnapshot();
        s.AddNode("n0", new NodeResources(4, 4096, 0), new NodeResources(4, 4096, 0), ["ib"], ["batch"]);
        Assert.False(s.TryCreateRequest(new ResourceRequest(), new JobConstraints { Partition = "gpu" }, 100, out _, out string? why));
        Assert.Contains("partition 'gpu'", why, StringComparison.Ordinal);
        Assert.False(s.TryCreateRequest(new ResourceRequest { Gpus = 1, GpuModel = "h100" }, new JobConstraints(), 100, out _, out why));
        Assert.Contains("h100", why, StringComparison.Ordinal);
        Assert.True(s.TryCreateRequest(new ResourceRequest(), new JobConstraints { Partition = "batch", RequiredFeatures = ["ib"] }, 100, out var req, out _));
        Assert.True(s.Fits(0, req));
    }
}

[Trait("Category", "Placement")]
public sealed class SnapshotMaintenanceTests
{
    [SeedProperty]
    public bool SetFreeCloneAndCopy_RandomSequences_SearchesStillEqualNaive(int seed)
    {
        var rng = new Random(seed);
        ClusterSnapshot s = RandomCluster.Create(rng);
        ClusterSnapshot? scratch = null;
        IPlacementPolicy[] policies = [new FirstFitPlacementPolicy(), new BestFitPlacementPolicy()];
        for (int step = 0; step < 120; step++)
        {
            if (rng.Next(4) == 0)
            {
                int n = rng.Next(s.Count);
                s.SetFree(n, new NodeResources(rng.Next(0, s.CapacityCpus[n] + 1), rng.Next(0, (int)s.CapacityMemoryMiB[n] + 1), rng.Next(0, s.CapacityGpus[n] + 1)), rng.Next(3));
            }
            if (rng.Next(10) == 0) s = s.Clone();
            if (rng.Next(8) == 0)
            {
                // A what-if copy reusing its arrays (and copying the source's bitsets, changed nodes not yet applied).
                scratch ??= new ClusterSnapshot();
                scratch.CopyFrom(s);
                (s, scratch) = (scratch, s);
            }
            PlacementRequest r = RandomCluster.Request(rng, s);
            IPlacementPolicy p = policies[rng.Next(2)];
            int[] chosen = new int[r.Nodes];
            int[]? got = p.TryPlace(s, r, chosen) ? chosen : null;
            int[]? want = p is FirstFitPlacementPolicy ? NaivePlacement.FirstFit(s, r) : NaivePlacement.BestFit(s, r, spread: false);
            if (want is null ? got is not null : got is null || !want.SequenceEqual(got)) return false;
            if (got is not null) s.AllocateGang(got, r);
        }
        return true;
    }
}
