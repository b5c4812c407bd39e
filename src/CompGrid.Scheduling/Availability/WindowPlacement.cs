using CompGrid.Backfill;
using CompGrid.Placement;

namespace CompGrid.Scheduling.Availability;

/// <summary>
/// Availability windows in placement. Each node of a pool carries a synthetic feature naming its pool; in a cycle, a
/// job whose walltime would outlast a pool's open window (a closed pool's window ends now) gets that feature as a
/// forbidden one, so the placement core — its indexes and fast paths unchanged — never sees those nodes for that job.
/// A job left with no node that could ever take it, while a pool could when open, waits with "node pool … opens at …"
/// and that opening as its estimated start.
/// </summary>
internal sealed class WindowPlacement(AvailabilitySchedule schedule, Func<JobSpec, TimeSpan> walltime, Func<JobSpec, long> memoryPerNode)
{
    /// <summary>The prefix of the synthetic pool features (not a feature any real node reports).</summary>
    public const string FeaturePrefix = "compgrid.window:";

    private AvailabilitySchedule Schedule => schedule;
    private TimeSpan WalltimeOf(JobSpec spec) => walltime(spec);
    private long MemoryOf(JobSpec spec) => memoryPerNode(spec);

    /// <summary>The features a node gets in the snapshot: its own, plus its pool's.</summary>
    public IEnumerable<string> FeaturesOf(string backend, NodeInfo node) =>
        schedule.PoolOf(backend, node.Name) is { } pool ? [.. node.Features, FeaturePrefix + pool] : node.Features;

    /// <summary>Whether the node accepts work now (outside its windows it is not schedulable).</summary>
    public bool IsOpen(string backend, NodeInfo node, DateTimeOffset now) => schedule.IsOpen(backend, node.Name, now);

    /// <summary>The cycle's view of <paramref name="queued"/> with the pools each job must avoid, or null when the backend has no pools.</summary>
    public Restriction? Restrict(string backend, ClusterSnapshot snapshot, List<JobRecord> queued, DateTimeOffset now)
    {
        if (!schedule.HasPools(backend)) return null;
        // Per pool (its nodes share one calendar): until when it can run a job started now, and one of its nodes.
        var pools = new Dictionary<string, (DateTimeOffset Until, string Node)>(StringComparer.Ordinal);
        for (int i = 0; i < snapshot.Count; i++)
        {
            string name = snapshot.Names[i];
            if (schedule.PoolOf(backend, name) is { } pool && !pools.ContainsKey(pool))
                pools[pool] = (schedule.UsableUntil(backend, name, now) ?? DateTimeOffset.MaxValue, name);
        }
        var restriction = new Restriction(this, backend, snapshot, now, pools);
        for (int i = 0; i < queued.Count; i++)
        {
            var job = queued[i];
            var end = now + walltime(job.Spec);
            List<string>? avoid = null;
            foreach (var (pool, (until, _)) in pools)
                if (end > until) (avoid ??= []).Add(FeaturePrefix + pool);
            if (avoid is null) continue;
            var c = job.Spec.Constraints;
            queued[i] = job with { Spec = job.Spec with { Constraints = c with { ForbiddenFeatures = [.. c.ForbiddenFeatures, .. avoid] } } };
            restriction.Originals[job.Id] = job;
        }
        return restriction;
    }

    /// <summary>One cycle's restricted jobs on one backend.</summary>
    internal sealed class Restriction(WindowPlacement owner, string backend, ClusterSnapshot snapshot, DateTimeOffset now, Dictionary<string, (DateTimeOffset Until, string Node)> pools)
    {
        public Dictionary<string, JobRecord> Originals { get; } = new(StringComparer.Ordinal);

        /// <summary>The job as stored (the cycle saw a copy with the pools to avoid).</summary>
        public JobRecord Original(JobRecord job) => Originals.GetValueOrDefault(job.Id) ?? job;

        /// <summary>The pending reason when windows alone keep the job waiting, else null (the cycle's reason stands).</summary>
        public string? ReasonFor(JobDecision decision)
        {
            if (decision.Start || !Originals.TryGetValue(decision.Job.Id, out var job)) return null;
            long memory = owner.MemoryOf(job.Spec);
            if (!snapshot.TryCreateRequest(job.Spec.Resources, job.Spec.Constraints, memory, out var wanted, out _)) return null;
            int need = Math.Max(1, wanted.Nodes);
            if (snapshot.TryCreateRequest(decision.Job.Spec.Resources, decision.Job.Spec.Constraints, memory, out var allowed, out _) && Count(allowed, null) >= need)
                return null;   // some node open long enough could take it: it waits for resources, not for a window
            var wt = owner.WalltimeOf(job.Spec);
            int usable = Count(allowed, null);
            (string Pool, DateTimeOffset At)? best = null;
            var tooShort = new List<string>();
            foreach (var (pool, (until, node)) in pools)
            {
                if (now + wt <= until) continue;   // not a pool this job had to avoid
                if (usable + Count(wanted, pool) < need) continue;
                if (owner.Schedule.NextOpening(backend, node, now, wt) is not { } at) { tooShort.Add(pool); continue; }
                if (best is null || at < best.Value.At) best = (pool, at);
            }
            if (best is { } b)
                return PendingReasons.Format(PendingReason.Resources, $"node pool {b.Pool} opens at {owner.Schedule.FormatLocal(backend, pools[b.Pool].Node, b.At)}", b.At);
            if (tooShort.Count > 0)
                return PendingReasons.Format(PendingReason.Resources, $"can never run here: its walltime {wt} is longer than every window of node pool {string.Join(", ", tooShort)} in the next two months", null);
            return null;
        }

        // Nodes that could ever take the request: those of one pool (ignoring the pool's own window), or with pool null
        // those the request itself allows.
        private int Count(in PlacementRequest request, string? pool)
        {
            var r = request;
            int n = 0;
            for (int i = 0; i < snapshot.Count; i++)
            {
                if (pool is not null && owner.Schedule.PoolOf(backend, snapshot.Names[i]) != pool) continue;
                if (snapshot.CouldEverFit(i, r)) n++;
            }
            return n;
        }
    }
}
