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
    // The incremental path's state, kept between RunQueued calls.
    private readonly PendingQueue _queue = new();
    private readonly List<QueueStart> _starts = [];
    private RunningAllocation[] _allocations = [];
    private JobRecord? _lastQueued;
    private bool _reorder;
    private long _ranVersion = -1, _ranGeneration = -1;
    private bool _ranBackfilled;   // the last RunQueued started a job behind the reservation
    private ClusterSnapshot? _ranCluster;
    // The engine's use of the kept queue (EnqueueUnplaced): what the last full decision pass saw, so an unchanged cycle costs O(1).
    private readonly BackfillOptions? _backfillOptions;
    private bool _unplaced;
    private long _decidedVersion = -1, _decidingVersion = -1, _decidedInputs, _decidedUntil = long.MinValue, _orderedAt = long.MinValue;

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
        _backfillOptions = backfill;
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
        ArgumentNullException.ThrowIfNull(pending);
        _ordering.Order(pending, new QueueOrderingContext { Now = now });
        return Decide(cluster, running, pending, now, clusterName);
    }

    /// <summary>A new cycle with the same ordering, placement, walltime and memory defaults, backfill settings and limits (one per backend).</summary>
    public SchedulingCycle CreateSibling() =>
        new(_ordering, _backfill.Policy, _walltime, _memoryPerNode, _backfillOptions, _limits);

    /// <summary>
    /// Adds a job to the kept queue without a cluster: the engine's use of the queue, whose backends' nodes change
    /// between cycles, so placement requests are made at each decision pass (<see cref="DecideQueued"/>) rather than on
    /// arrival. A cycle fed this way serves <see cref="DecideQueued"/>, never <see cref="RunQueued"/>.
    /// </summary>
    public void EnqueueUnplaced(JobRecord job)
    {
        ArgumentNullException.ThrowIfNull(job);
        _unplaced = true;
        if (_ordering is not FifoQueueOrderingPolicy || (_queue.Count > 0 && FifoBefore(job, _lastQueued!))) _reorder = true;
        if (_lastQueued is null || !FifoBefore(job, _lastQueued)) _lastQueued = job;
        _queue.Append(job, default, null);
    }

    /// <summary>Swaps in a newer record of a queued job whose scheduling inputs are unchanged (its pending reason): no new work for the next cycle.</summary>
    public bool Replace(JobRecord job) => _queue.Replace(job);

    /// <summary>Decision passes run by <see cref="DecideQueued"/> and the jobs they evaluated (the work a cycle does, counted).</summary>
    public long DecisionPasses { get; private set; }

    /// <inheritdoc cref="DecisionPasses"/>
    public long JobsDecided { get; private set; }

    /// <summary>
    /// Whether the last <see cref="DecideQueued"/> answer still stands, in O(1): no job arrived, left or changed its
    /// scheduling inputs, <paramref name="inputs"/> (a fingerprint of the nodes and running jobs) is the same, no running
    /// job has passed its expected end (estimates would move with the clock), and priorities are not due for
    /// recomputation (orderings other than <c>fifo</c> and <c>priority</c>, every <paramref name="priorityPeriod"/>).
    /// </summary>
    public bool IsDecided(long inputs, DateTimeOffset now, TimeSpan priorityPeriod) =>
        _queue.Version == _decidedVersion && inputs == _decidedInputs && now.UtcTicks < _decidedUntil
        && (IsStaticOrdering || now.UtcTicks - _orderedAt < priorityPeriod.Ticks);

    private bool IsStaticOrdering => _ordering is FifoQueueOrderingPolicy or PriorityQueueOrderingPolicy;

    /// <summary>
    /// The kept queue in priority order (re-ordered when jobs arrived out of order, or for orderings whose priorities
    /// move with time and usage): the list a decision pass runs on.
    /// </summary>
    public List<JobRecord> QueuedJobs(DateTimeOffset now)
    {
        if (_reorder || !IsStaticOrdering)
        {
            List<JobRecord> ordered = _queue.Jobs();
            _ordering.Order(ordered, new QueueOrderingContext { Now = now });
            _queue.Reorder(ordered);
            _reorder = !(_ordering is FifoQueueOrderingPolicy);
            _orderedAt = now.UtcTicks;
            return ordered;
        }
        return _queue.Jobs();
    }

    /// <summary>
    /// The full decision pass of <see cref="Run"/> on <paramref name="ordered"/> (from <see cref="QueuedJobs"/>, possibly
    /// with availability-window copies of its jobs): every job gets its reason and estimate, exactly as <see cref="Run"/>
    /// gives them. Call <see cref="MarkDecided"/> once every decision has been applied.
    /// </summary>
    public IReadOnlyList<JobDecision> DecideQueued(ClusterSnapshot cluster, IReadOnlyList<RunningJob> running, List<JobRecord> ordered, DateTimeOffset now, string? clusterName = null)
    {
        ArgumentNullException.ThrowIfNull(ordered);
        DecisionPasses++;
        JobsDecided += ordered.Count;
        _decidedVersion = -1;
        // The queue as this pass sees it: a job arriving while its decisions are applied (submitters do not take the
        // engine lock) makes the next cycle decide again.
        _decidingVersion = _queue.Version;
        return Decide(cluster, running, ordered, now, clusterName);
    }

    /// <summary>
    /// Records that the decisions of the last <see cref="DecideQueued"/> on inputs <paramref name="inputs"/> were all
    /// applied: until the queue or the inputs change, or the clock reaches <paramref name="validUntil"/>, the answer stands.
    /// </summary>
    public void MarkDecided(long inputs, DateTimeOffset validUntil)
    {
        _decidedVersion = _decidingVersion;
        _decidedInputs = inputs;
        _decidedUntil = validUntil.UtcTicks;
    }

    private IReadOnlyList<JobDecision> Decide(ClusterSnapshot cluster, IReadOnlyList<RunningJob> running, List<JobRecord> pending, DateTimeOffset now, string? clusterName)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(running);

        var candidates = new BackfillCandidate[pending.Count];
        var never = new string?[pending.Count];
        for (int i = 0; i < pending.Count; i++)
            candidates[i] = CandidateOf(cluster, pending[i].Spec, clusterName, out never[i]);
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

    /// <summary>
    /// Adds an arriving job to the queue the cycle keeps between <see cref="RunQueued"/> calls (the incremental path the
    /// simulator drives): its placement request is computed once, here, against <paramref name="cluster"/> (whose nodes
    /// must stay the same while the queue lives). Under FIFO a job that sorts after every queued one is appended in O(1);
    /// otherwise the queue is re-ordered at the next cycle.
    /// </summary>
    public void Enqueue(JobRecord job, ClusterSnapshot cluster, string? clusterName = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(cluster);
        BackfillCandidate candidate = CandidateOf(cluster, job.Spec, clusterName, out string? never);
        if (_ordering is not FifoQueueOrderingPolicy || (_queue.Count > 0 && FifoBefore(job, _lastQueued!))) _reorder = true;
        if (_lastQueued is null || !FifoBefore(job, _lastQueued)) _lastQueued = job;
        _queue.Append(job, candidate, never);
    }

    /// <summary>Removes a queued job from the kept queue (cancelled, or started elsewhere). Returns false when it is not queued.</summary>
    public bool Dequeue(string jobId) => _queue.Remove(jobId);

    /// <summary>Jobs in the kept queue.</summary>
    public int QueuedCount => _queue.Count;

    /// <summary>
    /// Runs one cycle on the kept queue and returns the jobs it starts (allocated in <paramref name="cluster"/> and
    /// removed from the queue; the list is reused by the next call). Same ordering, limits, placement and EASY rules as
    /// <see cref="Run"/> (whose rules the engine's <see cref="DecideQueued"/> applies); this path gives no reasons or estimates for the waiting jobs, so its
    /// cost is that of the jobs it starts or tries, not of the queue. With no arrival, removal or change to the cluster
    /// since the last call it returns at once (O(1)): nothing could start that did not start then, since time only
    /// brings a job's end later relative to the shadow time. Orderings other than FIFO re-order the queue on each cycle
    /// that runs (their priorities move with time and usage).
    /// </summary>
    public IReadOnlyList<QueueStart> RunQueued(ClusterSnapshot cluster, IReadOnlyList<RunningJob> running, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(running);
        if (_unplaced) throw new InvalidOperationException("This cycle's queue was filled by EnqueueUnplaced (the engine's decision path); RunQueued needs the placement requests Enqueue makes.");
        _starts.Clear();
        // Nothing arrived, ended or changed: the last cycle's answer stands — unless it backfilled, since a job started
        // behind the reservation changes which nodes are busy, and with them where the full pass would reserve now.
        if (_queue.Version == _ranVersion && ReferenceEquals(cluster, _ranCluster) && cluster.Generation == _ranGeneration && !_ranBackfilled) return _starts;
        if (_queue.Count > 0)
        {
            if (_reorder)
            {
                List<JobRecord> ordered = _queue.Jobs();
                _ordering.Order(ordered, new QueueOrderingContext { Now = now });
                _queue.Reorder(ordered);
                _reorder = _ordering is not FifoQueueOrderingPolicy;
            }
            if (_allocations.Length < running.Count) _allocations = new RunningAllocation[Math.Max(running.Count, _allocations.Length * 2)];
            for (int i = 0; i < running.Count; i++)
                _allocations[i] = new RunningAllocation(running[i].Nodes, running[i].Request, running[i].ExpectedEnd);
            var gate = new Gate(this, running);
            LastShadowTime = _backfill.RunQueue(cluster, _allocations.AsSpan(0, running.Count), _queue, now, gate, _starts);
            foreach (QueueStart st in _starts) _queue.Remove(st.Job.Id);
            if (_queue.Count == 0) _lastQueued = null;
        }
        _ranVersion = _queue.Version;
        _ranCluster = cluster;
        _ranGeneration = cluster.Generation;
        _ranBackfilled = _starts.Count > 0 && _starts[^1].Backfilled;
        return _starts;
    }

    private static bool FifoBefore(JobRecord a, JobRecord b) =>
        a.SubmittedAt != b.SubmittedAt ? a.SubmittedAt < b.SubmittedAt : string.CompareOrdinal(a.Id, b.Id) < 0;

    private BackfillCandidate CandidateOf(ClusterSnapshot cluster, JobSpec spec, string? clusterName, out string? never)
    {
        if (cluster.TryCreateRequest(spec.Resources, spec.Constraints, _memoryPerNode(spec), out PlacementRequest req, out string? why)
            && CountCouldFit(cluster, req) >= Math.Max(1, req.Nodes))
        {
            never = null;
            return new BackfillCandidate(req, _walltime(spec));
        }
        never = why ?? (clusterName is null ? "no set of nodes is large enough for it" : $"no node of '{clusterName}' is large enough");
        return new BackfillCandidate(req with { Nodes = int.MaxValue / 2 }, _walltime(spec));
    }

    private static int CountCouldFit(ClusterSnapshot cluster, in PlacementRequest req)
    {
        int need = Math.Max(1, req.Nodes), n = 0;
        for (int i = 0; i < cluster.Count && n < need; i++)
            if (cluster.CouldEverFit(i, req)) n++;
        return n;
    }

    private sealed class Gate : IBackfillGate, IQueueGate
    {
        private readonly SchedulingCycle _owner;
        private readonly List<JobRecord> _pending;
        private readonly string?[] _never;
        private readonly LimitTracker? _tracker;
        private readonly Dictionary<int, string> _details = [];

        // The incremental path's gate: jobs come with their record, and "never" jobs are skipped by the queue itself.
        public Gate(SchedulingCycle owner, IReadOnlyList<RunningJob> running) : this(owner, [], [], running) { }

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
            PendingReason reason = Check(_pending[candidate], out string? why);
            if (why is not null) _details[candidate] = why;
            return reason;
        }

        public PendingReason Check(JobRecord job) => Check(job, out _);

        private PendingReason Check(JobRecord job, out string? why)
        {
            why = null;
            if (job.State == JobState.AwaitingApproval) return PendingReason.Approval;
            if (_tracker is not null && !_tracker.CanStart(job.Spec, _owner._memoryPerNode(job.Spec), out why)) return PendingReason.Limit;
            return PendingReason.None;
        }

        public void OnStarted(int candidate, ReadOnlySpan<int> nodes) => OnStarted(_pending[candidate]);

        public void OnStarted(JobRecord job) => _tracker?.AddRunning(job.Spec, _owner._memoryPerNode(job.Spec));
    }
}
