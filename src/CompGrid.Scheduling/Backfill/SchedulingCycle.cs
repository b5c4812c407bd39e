using System.Globalization;
using CompGrid.Limits;
using CompGrid.Placement;

namespace CompGrid.Backfill;

/// <summary>A job running on a cluster the scheduling cycle places on.</summary>
/// <param name="Job">The job.</param>
/// <param name="Nodes">The node indexes it holds in the snapshot.</param>
/// <param name="Request">Its per-node request.</param>
/// <param name="ExpectedEnd">When it ends at the latest (start + walltime limit).</param>
internal sealed record RunningJob(JobRecord Job, int[] Nodes, PlacementRequest Request, DateTimeOffset ExpectedEnd);

/// <summary>What the cycle decided for one pending job.</summary>
internal sealed record JobDecision
{
    /// <summary>The job.</summary>
    public required JobRecord Job { get; init; }

    /// <summary>Whether the job starts now (its nodes are allocated in the snapshot).</summary>
    public bool Start { get; init; }

    /// <summary>The node indexes chosen, when it starts.</summary>
    public IReadOnlyList<int> Nodes { get; init; } = [];

    /// <summary>Why it waits, when it does.</summary>
    public PendingReason Reason { get; init; }

    /// <summary>Details of the reason (the limit hit, the constraint no node meets).</summary>
    public string? Detail { get; init; }

    /// <summary>When it is expected to start, when known.</summary>
    public DateTimeOffset? EstimatedStart { get; init; }

    /// <summary>Whether it was started by backfill, ahead of a higher-priority job that waits.</summary>
    public bool Backfilled { get; init; }

    /// <summary>The reason as one line for a job record: <c>Priority: … ; estimated start 2026-…Z</c>.</summary>
    public string ReasonText => PendingReasons.Format(Reason, Detail, EstimatedStart);
}

/// <summary>Formats pending reasons for job records.</summary>
internal static class PendingReasons
{
    /// <summary>Formats a reason line: the reason name, a description, and the estimated start when known.</summary>
    public static string Format(PendingReason reason, string? detail, DateTimeOffset? estimatedStart)
    {
        string text = detail ?? reason switch
        {
            PendingReason.Resources => "waiting for resources to free up",
            PendingReason.Priority => "higher-priority jobs are ahead",
            PendingReason.Limit => "an account or user limit is reached",
            PendingReason.Approval => "waiting for approval",
            PendingReason.Funds => "the account lacks funds",
            PendingReason.Reservation => "would delay the job holding the reservation",
            _ => "",
        };
        string eta = estimatedStart is { } e ? "; estimated start " + e.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "";
        return $"{reason}: {text}{eta}";
    }
}

/// <summary>
/// One scheduling pass over a cluster CompGrid places on — the same code the engine runs each cycle and the simulator
/// runs on its virtual clock: order the queue (<see cref="IQueueOrderingPolicy"/>), hold back jobs over their
/// account/user limits, place with the <see cref="IPlacementPolicy"/> and EASY backfill, and give every waiting job a
/// reason and (for the first ones) an estimated start.
/// </summary>
internal sealed class SchedulingCycle
{
    private readonly IQueueOrderingPolicy _ordering;
    private readonly EasyBackfillScheduler _backfill;
    private readonly ResourceLimitsOptions? _limits;
    private readonly Func<JobSpec, TimeSpan> _walltime;
    private readonly Func<JobSpec, long> _memoryPerNode;

    /// <summary>Creates a cycle.</summary>
    /// <param name="ordering">Orders the queue.</param>
    /// <param name="placement">Chooses nodes.</param>
    /// <param name="walltime">A job's walltime limit after defaults.</param>
    /// <param name="memoryPerNode">A job's memory per node (MiB) after defaults.</param>
    /// <param name="backfill">Backfill settings (on by default).</param>
    /// <param name="limits">Account and user limits, or null.</param>
    public SchedulingCycle(IQueueOrderingPolicy ordering, IPlacementPolicy placement, Func<JobSpec, TimeSpan> walltime, Func<JobSpec, long> memoryPerNode,
        BackfillOptions? backfill = null, ResourceLimitsOptions? limits = null)
    {
        ArgumentNullException.ThrowIfNull(ordering);
        ArgumentNullException.ThrowIfNull(placement);
        ArgumentNullException.ThrowIfNull(walltime);
        ArgumentNullException.ThrowIfNull(memoryPerNode);
        _ordering = ordering;
        _backfill = new EasyBackfillScheduler(placement, backfill);
        _limits = limits;
        _walltime = walltime;
        _memoryPerNode = memoryPerNode;
    }

    /// <summary>The ordering policy.</summary>
    public IQueueOrderingPolicy Ordering => _ordering;

    /// <summary>The placement policy.</summary>
    public IPlacementPolicy Placement => _backfill.Policy;

    /// <summary>The last cycle's shadow time (when the job holding the reservation should start), if any.</summary>
    public DateTimeOffset? LastShadowTime { get; private set; }

    /// <summary>
    /// Runs one pass. <paramref name="pending"/> (queued jobs) is reordered in place. Jobs that start are allocated in
    /// <paramref name="cluster"/>. Returns one decision per pending job, in priority order. <paramref name="clusterName"/>
    /// (the backend) is used in reasons.
    /// </summary>
    public IReadOnlyList<JobDecision> Run(ClusterSnapshot cluster, IReadOnlyList<RunningJob> running, List<JobRecord> pending, DateTimeOffset now, string? clusterName = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(pending);
        _ordering.Order(pending, new QueueOrderingContext { Now = now });

        var candidates = new BackfillCandidate[pending.Count];
        var never = new string?[pending.Count];
        for (int i = 0; i < pending.Count; i++)
        {
            JobSpec spec = pending[i].Spec;
            if (cluster.TryCreateRequest(spec.Resources, spec.Constraints, _memoryPerNode(spec), out PlacementRequest req, out string? why)
                && CountCouldFit(cluster, req) >= Math.Max(1, req.Nodes))
                candidates[i] = new BackfillCandidate(req, _walltime(spec));
            else
            {
                never[i] = why ?? (clusterName is null ? "no set of nodes is large enough for it" : $"no node of '{clusterName}' is large enough");
                candidates[i] = new BackfillCandidate(req with { Nodes = int.MaxValue / 2 }, _walltime(spec));
            }
        }
        var allocations = new RunningAllocation[running.Count];
        for (int i = 0; i < running.Count; i++)
            allocations[i] = new RunningAllocation(running[i].Nodes, running[i].Request, running[i].ExpectedEnd);

        var gate = new Gate(this, pending, never, running);
        BackfillResult r = _backfill.Run(cluster, allocations, candidates, now, gate);
        LastShadowTime = r.ShadowTime;
        var decisions = new JobDecision[pending.Count];
        for (int i = 0; i < pending.Count; i++)
        {
            decisions[i] = r.Started(i)
                ? new JobDecision { Job = pending[i], Start = true, Nodes = r.NodesOf(i).ToArray(), EstimatedStart = now, Backfilled = r.ReservationHolder >= 0 && i > r.ReservationHolder }
                : new JobDecision
                {
                    Job = pending[i], Reason = never[i] is not null ? PendingReason.Resources : r.Reason(i),
                    Detail = never[i] is not null ? "can never run here: " + never[i] : gate.Detail(i),
                    EstimatedStart = never[i] is not null ? null : r.EstimatedStart(i),
                };
        }
        return decisions;
    }

    private static int CountCouldFit(ClusterSnapshot cluster, in PlacementRequest req)
    {
        int need = Math.Max(1, req.Nodes), n = 0;
        for (int i = 0; i < cluster.Count && n < need; i++)
            if (cluster.CouldEverFit(i, req)) n++;
        return n;
    }

    private sealed class Gate : IBackfillGate
    {
        private readonly SchedulingCycle _owner;
        private readonly List<JobRecord> _pending;
        private readonly string?[] _never;
        private readonly LimitTracker? _tracker;
        private readonly Dictionary<int, string> _details = [];

        public Gate(SchedulingCycle owner, List<JobRecord> pending, string?[] never, IReadOnlyList<RunningJob> running)
        {
            _owner = owner;
            _pending = pending;
            _never = never;
            if (owner._limits is { } l)
            {
                var t = new LimitTracker(l);
                if (t.HasLimits)
                {
                    foreach (RunningJob r in running) t.AddRunning(r.Job.Spec, owner._memoryPerNode(r.Job.Spec));
                    _tracker = t;
                }
            }
        }

        public string? Detail(int i) => _details.GetValueOrDefault(i);

        public PendingReason Check(int candidate)
        {
            if (_never[candidate] is not null) return PendingReason.Resources;
            JobRecord job = _pending[candidate];
            if (job.State == JobState.AwaitingApproval) return PendingReason.Approval;
            if (_tracker is not null && !_tracker.CanStart(job.Spec, _owner._memoryPerNode(job.Spec), out string? why))
            {
                _details[candidate] = why!;
                return PendingReason.Limit;
            }
            return PendingReason.None;
        }

        public void OnStarted(int candidate, ReadOnlySpan<int> nodes)
        {
            JobSpec spec = _pending[candidate].Spec;
            _tracker?.AddRunning(spec, _owner._memoryPerNode(spec));
        }
    }
}
