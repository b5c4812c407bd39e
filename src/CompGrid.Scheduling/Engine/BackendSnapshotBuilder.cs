using CompGrid.Backfill;
using CompGrid.Placement;
using Microsoft.Extensions.Logging;

namespace CompGrid;

/// <summary>
/// Builds the <see cref="ClusterSnapshot"/> of a backend CompGrid places for: its nodes as reported, less what the
/// engine's own dispatched jobs hold; and lists those jobs with their expected ends for backfill.
/// </summary>
internal sealed class BackendSnapshotBuilder(ActiveJobs jobs, JobRouter router, ILogger logger,
    CompGrid.Scheduling.Availability.WindowPlacement? windows = null, TimeProvider? time = null)
{
    /// <summary>Availability windows in placement, when any are configured.</summary>
    public CompGrid.Scheduling.Availability.WindowPlacement? Windows => windows;

    /// <summary>The backend's snapshot, or null when its nodes cannot be read.</summary>
    public async Task<ClusterSnapshot?> BuildAsync(IComputeBackend backend, CancellationToken ct)
    {
        IReadOnlyList<NodeInfo> nodes;
        try { nodes = await backend.GetNodesAsync(ct).ConfigureAwait(false); }
        catch (CompGridException ex) { Log.BackendError(logger, backend.Name, "nodes", ex.Message); return null; }
        var snapshot = new ClusterSnapshot();
        var now = (time ?? TimeProvider.System).GetUtcNow();
        foreach (var n in nodes)
        {
            // Outside its window a node takes no work; its pool's feature lets placement keep jobs that would outlast the window off it.
            if (windows is null) snapshot.AddNode(n.Name, n.Capacity, n.Capacity, n.Features, n.Partitions, n.GpuModel, n.State == NodeState.Up);
            else snapshot.AddNode(n.Name, n.Capacity, n.Capacity, windows.FeaturesOf(backend.Name, n), n.Partitions, n.GpuModel, n.State == NodeState.Up && windows.IsOpen(backend.Name, n, now));
        }
        // Free resources are capacity minus what CompGrid's own running jobs hold (this backend is ours to place on).
        foreach (var running in jobs.Where(j => j.Backend == backend.Name && j.BackendJobId is not null))
        {
            var req = RequestOf(running.Spec);
            foreach (string node in running.Nodes)
            {
                int i = snapshot.IndexOf(node);
                if (i >= 0) ForceAllocate(snapshot, i, req);
            }
        }
        return snapshot;
    }

    /// <summary>The engine's running jobs on the backend, as the scheduling cycle sees them.</summary>
    public List<RunningJob> RunningOn(IComputeBackend backend, ClusterSnapshot snapshot, DateTimeOffset now)
    {
        var running = new List<RunningJob>();
        foreach (var job in jobs.Where(j => j.Backend == backend.Name && j.BackendJobId is not null && !j.IsTerminal))
        {
            int[] nodes = job.Nodes.Select(snapshot.IndexOf).Where(i => i >= 0).ToArray();
            var start = job.StartedAt ?? job.DispatchedAt ?? now;
            running.Add(new RunningJob(job, nodes, RequestOf(job.Spec), start + router.WalltimeOf(job.Spec)));
        }
        return running;
    }

    private PlacementRequest RequestOf(JobSpec spec)
    {
        var r = spec.Resources;
        return new PlacementRequest(r.Cpus, router.MemoryPerNode(spec), r.Gpus, r.Nodes, Exclusive: spec.Constraints.Exclusive);
    }

    // An adopted job may overlap a node's reported capacity (a node shrank); clamp instead of failing the cycle.
    private static void ForceAllocate(ClusterSnapshot s, int i, PlacementRequest r)
    {
        var clamped = r with
        {
            Cpus = Math.Min(r.Cpus, s.FreeCpus[i]), MemoryMiB = Math.Min(r.MemoryMiB, s.FreeMemoryMiB[i]), Gpus = Math.Min(r.Gpus, s.FreeGpus[i]),
            RequiredFeatures = 0, ForbiddenFeatures = 0, PartitionMask = 0, GpuModel = 0,
            Exclusive = r.Exclusive && s.JobCounts[i] == 0,
        };
        bool schedulable = s.Schedulable[i];
        if (!schedulable) s.SetSchedulable(i, true);
        if (s.Fits(i, clamped)) s.Allocate(i, clamped);
        if (!schedulable) s.SetSchedulable(i, false);
    }
}
