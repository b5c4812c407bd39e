using CompGrid.Backfill;
using CompGrid.Placement;

namespace CompGrid.Scheduling.Cycle;

/// <summary>
/// The engine's pending queues, one <see cref="SchedulingCycle"/> per backend, kept between cycles and updated from the
/// active-job cache's events: a job enters its backend's queue when it becomes queued and undispatched (submit,
/// approval, requeue at a window's end) and leaves it when it is dispatched, cancelled or ends; a new pending reason
/// only swaps the record. The loop then pays for what changed, not for the queue.
/// </summary>
internal sealed class EngineQueues(SchedulingCycle prototype) : IActiveJobsObserver
{
    private readonly Dictionary<string, SchedulingCycle> _byBackend = new(StringComparer.Ordinal);

    /// <summary>The cycle (and queue) of backend <paramref name="backend"/>, created on first use.</summary>
    public SchedulingCycle For(string backend)
    {
        if (!_byBackend.TryGetValue(backend, out var cycle)) _byBackend.Add(backend, cycle = prototype.CreateSibling());
        return cycle;
    }

    /// <summary>Jobs queued on backend <paramref name="backend"/>.</summary>
    public int CountOn(string backend) => _byBackend.TryGetValue(backend, out var c) ? c.QueuedCount : 0;

    /// <summary>Decision passes run over all backends, and the jobs they evaluated.</summary>
    public (long Passes, long Jobs) Work
    {
        get
        {
            long passes = 0, jobs = 0;
            foreach (var c in _byBackend.Values) { passes += c.DecisionPasses; jobs += c.JobsDecided; }
            return (passes, jobs);
        }
    }

    /// <inheritdoc/>
    public void OnChanged(JobRecord? before, JobRecord? after)
    {
        bool was = IsPending(before), now = IsPending(after);
        if (was && now && before!.Backend == after!.Backend && SameInputs(before, after))
        {
            For(after.Backend!).Replace(after);
            return;
        }
        if (was) For(before!.Backend!).Dequeue(before.Id);
        if (now) For(after!.Backend!).EnqueueUnplaced(after);
    }

    /// <summary>Whether the job waits in a queue CompGrid schedules: queued, not yet handed to its backend.</summary>
    public static bool IsPending(JobRecord? job) => job is { State: JobState.Queued, BackendJobId: null, Backend: not null };

    // Only the reason (and the version it bumps) changed: nothing the ordering, limits or placement read.
    private static bool SameInputs(JobRecord a, JobRecord b) => a with { Reason = null, Version = 0 } == b with { Reason = null, Version = 0 };

    /// <summary>
    /// A fingerprint of what a decision pass reads besides the queue: every node's capacity, free resources, features,
    /// partitions and state, and every running job's nodes, request, expected end and owner (limits count them).
    /// </summary>
    public static long Inputs(ClusterSnapshot cluster, IReadOnlyList<RunningJob> running)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(running);
        ulong h = 14695981039346656037UL;
        h = Mix(h, (ulong)cluster.Count);
        for (int i = 0; i < cluster.Count; i++)
        {
            h = Mix(h, (ulong)(uint)StringComparer.Ordinal.GetHashCode(cluster.Names[i]));
            h = Mix(h, ((ulong)(uint)cluster.CapacityCpus[i] << 32) | (uint)cluster.FreeCpus[i]);
            h = Mix(h, (ulong)cluster.CapacityMemoryMiB[i]);
            h = Mix(h, (ulong)cluster.FreeMemoryMiB[i]);
            h = Mix(h, ((ulong)(uint)cluster.CapacityGpus[i] << 32) | (uint)cluster.FreeGpus[i]);
            h = Mix(h, ((ulong)(uint)cluster.GpuModels[i] << 32) | (uint)cluster.JobCounts[i]);
            h = Mix(h, cluster.FeatureMasks[i]);
            h = Mix(h, cluster.PartitionMasks[i]);
            h = Mix(h, (cluster.Schedulable[i] ? 1UL : 0UL) | (cluster.HeldExclusively[i] ? 2UL : 0UL));
        }
        h = Mix(h, (ulong)running.Count);
        foreach (RunningJob r in running)
        {
            h = Mix(h, (ulong)(uint)StringComparer.Ordinal.GetHashCode(r.Job.Id));
            h = Mix(h, (ulong)r.ExpectedEnd.UtcTicks);
            h = Mix(h, (ulong)(uint)r.Request.GetHashCode());
            h = Mix(h, (ulong)(uint)HashCode.Combine(r.Job.Spec.Owner, r.Job.Spec.Account));
            foreach (int n in r.Nodes) h = Mix(h, (ulong)(uint)n);
        }
        return (long)h;
    }

    /// <summary>
    /// Until when a decision pass at <paramref name="now"/> stays right with nothing else changing: the first expected end
    /// of a running job (past it, reservations and estimates move with the clock), or now when a waiting job was
    /// estimated to start now (it was held back only by the per-cycle test limit).
    /// </summary>
    public static DateTimeOffset ValidUntil(IReadOnlyList<RunningJob> running, IReadOnlyList<JobDecision> decisions, DateTimeOffset now)
    {
        DateTimeOffset until = DateTimeOffset.MaxValue;
        foreach (RunningJob r in running) if (r.ExpectedEnd < until) until = r.ExpectedEnd;
        foreach (JobDecision d in decisions) if (!d.Start && d.EstimatedStart is { } e && e <= now) return now;
        return until;
    }

    private static ulong Mix(ulong h, ulong v)
    {
        h ^= v + 0x9E3779B97F4A7C15UL + (h << 6) + (h >> 2);
        return h * 1099511628211UL;
    }
}
