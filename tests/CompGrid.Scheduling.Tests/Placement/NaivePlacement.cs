using CompGrid.Placement;

namespace CompGrid.Scheduling.Tests.Placement;

/// <summary>The obvious O(N) reference implementations the fast policies must agree with.</summary>
internal static class NaivePlacement
{
    public static bool Fits(ClusterSnapshot s, int i, PlacementRequest r) =>
        s.Schedulable[i] && !s.HeldExclusively[i]
        && s.FreeCpus[i] >= r.Cpus && s.FreeMemoryMiB[i] >= r.MemoryMiB && s.FreeGpus[i] >= r.Gpus
        && (s.FeatureMasks[i] & r.RequiredFeatures) == r.RequiredFeatures
        && (s.FeatureMasks[i] & r.ForbiddenFeatures) == 0
        && (r.PartitionMask == 0 || (s.PartitionMasks[i] & r.PartitionMask) != 0)
        && (r.GpuModel == 0 || s.GpuModels[i] == r.GpuModel)
        && (!r.Exclusive || s.JobCounts[i] == 0);

    public static int[]? FirstFit(ClusterSnapshot s, PlacementRequest r, bool avoidGpu = false)
    {
        var found = new List<int>();
        for (int i = 0; i < s.Count && found.Count < r.Nodes; i++)
            if (Fits(s, i, r) && (!avoidGpu || s.CapacityGpus[i] == 0)) found.Add(i);
        return found.Count == r.Nodes ? [.. found] : null;
    }

    public static long Score(ClusterSnapshot s, int i, PlacementRequest r)
    {
        long score = 0;
        if (s.CapacityCpus[i] > 0) score += (s.FreeCpus[i] - (long)r.Cpus) * 1_000_000 / s.CapacityCpus[i];
        if (s.CapacityMemoryMiB[i] > 0) score += (s.FreeMemoryMiB[i] - r.MemoryMiB) * 1_000_000 / s.CapacityMemoryMiB[i];
        if (s.CapacityGpus[i] > 0) score += (s.FreeGpus[i] - (long)r.Gpus) * 1_000_000 / s.CapacityGpus[i];
        return score;
    }

    // The packing rule written out plainly: leftover fractions c, m, g; used node c + m + g + |c - m|; empty node 4,000,000 + g + (2,000,000 - c - m).
    public static long PackScore(ClusterSnapshot s, int i, PlacementRequest r)
    {
        long c = s.CapacityCpus[i] > 0 ? (s.FreeCpus[i] - (long)r.Cpus) * 1_000_000 / s.CapacityCpus[i] : 0;
        long m = s.CapacityMemoryMiB[i] > 0 ? (s.FreeMemoryMiB[i] - r.MemoryMiB) * 1_000_000 / s.CapacityMemoryMiB[i] : 0;
        long g = s.CapacityGpus[i] > 0 ? (s.FreeGpus[i] - (long)r.Gpus) * 1_000_000 / s.CapacityGpus[i] : 0;
        bool empty = s.FreeCpus[i] == s.CapacityCpus[i] && s.FreeMemoryMiB[i] == s.CapacityMemoryMiB[i] && s.FreeGpus[i] == s.CapacityGpus[i];
        return empty ? 4_000_000 + g + (2_000_000 - c - m) : c + m + g + Math.Abs(c - m);
    }

    public static int[]? BestFit(ClusterSnapshot s, PlacementRequest r, bool spread)
    {
        var fitting = Enumerable.Range(0, s.Count).Where(i => Fits(s, i, r))
            .Select(i => (Score: spread ? -Score(s, i, r) : PackScore(s, i, r), Node: i))
            .OrderBy(x => x.Score).ThenBy(x => x.Node).Take(r.Nodes).Select(x => x.Node).ToArray();
        return fitting.Length == r.Nodes ? fitting : null;
    }
}
