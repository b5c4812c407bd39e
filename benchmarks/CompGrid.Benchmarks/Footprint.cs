using CompGrid.Ordering;
using CompGrid.Placement;

namespace CompGrid.Benchmarks;

/// <summary>
/// Memory that stays live per node and per queued job (issue 14 §5): measured as the growth of the managed heap after
/// full collections, so garbage from building (array doubling, LINQ) does not count and every index the searches
/// build lazily does.
/// </summary>
public static class Footprint
{
    /// <summary>Nodes in the measured snapshot.</summary>
    public const int NodeCount = 10_000;

    /// <summary>Gate for <see cref="BytesPerNode"/>: 383 B measured (2026-12-02) — resources and flags in arrays, the
    /// name, about 40 B of threshold bitsets, the best-fit buckets' per-node arrays; the ceiling leaves a third for
    /// growth, so a new per-node object or a dense per-level table fails it.</summary>
    public const int NodeCeiling = 512;

    /// <summary>Gate for <see cref="BytesPerQueuedJob"/>: 37 B measured — seven buffers of 4 or 8 B per job (keys and
    /// indexes twice for the radix sort, the priority, the CPU count, the permutation's scratch references) plus the
    /// fair-share factors; a per-job allocation (a boxed key, a LINQ sort's arrays) fails the ceiling.</summary>
    public const int JobCeiling = 48;

    /// <summary>Retained bytes per node of a <see cref="ClusterSnapshot"/> of 10,000 benchmark nodes with its first-fit
    /// indexes and best-fit buckets built (node names included).</summary>
    public static double BytesPerNode()
    {
        Workloads.NodeSpec[] specs = Workloads.Nodes(NodeCount);
        var request = new PlacementRequest(1, 1, 0, 1);
        long before = Retained();
        ClusterSnapshot s = Workloads.Snapshot(specs);
        s.FindFirst(request);
        _ = new BestFitPlacementPolicy().TryPlace(s, request, new int[1]);
        long after = Retained();
        GC.KeepAlive(s);
        return (after - before) / (double)NodeCount;
    }

    /// <summary>Retained bytes per queued job of the multifactor ordering's working buffers after ordering the
    /// fair-share benchmark's queue (the job records themselves are the store's, not counted).</summary>
    internal static double BytesPerQueuedJob(FairShareBenchmarks queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        long before = Retained();
        MultifactorPriorityPolicy policy = queue.OrderWithNewPolicy();
        long after = Retained();
        GC.KeepAlive(policy);
        return (after - before) / (double)FairShareBenchmarks.JobCount;
    }

    private static long Retained()
    {
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
