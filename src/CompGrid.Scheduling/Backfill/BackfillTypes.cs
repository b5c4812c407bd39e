using CompGrid.Placement;

namespace CompGrid.Backfill;

/// <summary>Why a job is still pending — the answer users ask every portal for.</summary>
internal enum PendingReason
{
    /// <summary>Not pending (started in this cycle), or not evaluated.</summary>
    None,
    /// <summary>The job is first in line and waits for resources to free up (it holds the reservation), or it asks for more than the cluster has.</summary>
    Resources,
    /// <summary>Higher-priority jobs are ahead of it and it does not fit now.</summary>
    Priority,
    /// <summary>An account or user limit (running jobs, CPUs, GPUs, memory in use) holds it back.</summary>
    Limit,
    /// <summary>It waits for an approver.</summary>
    Approval,
    /// <summary>Its account lacks the funds to cover it.</summary>
    Funds,
    /// <summary>It would fit now, but starting it would delay the job holding the reservation.</summary>
    Reservation,
}

/// <summary>A job pending in a backfill cycle: its placement request and walltime limit.</summary>
internal readonly record struct BackfillCandidate(PlacementRequest Request, TimeSpan Walltime);

/// <summary>A running job: the nodes it holds, its per-node request and when it will end at the latest (start + walltime).</summary>
internal readonly record struct RunningAllocation(int[] Nodes, PlacementRequest Request, DateTimeOffset ExpectedEnd);

/// <summary>Lets the caller hold a candidate back (limits, approval, funds) and learn about starts (to update its counts).</summary>
internal interface IBackfillGate
{
    /// <summary>Why candidate <paramref name="candidate"/> may not start now, or <see cref="PendingReason.None"/> when it may.</summary>
    PendingReason Check(int candidate);

    /// <summary>Candidate <paramref name="candidate"/> was started on <paramref name="nodes"/>.</summary>
    void OnStarted(int candidate, ReadOnlySpan<int> nodes);
}

/// <summary>Holds queued jobs back (limits, approval) in a <see cref="EasyBackfillScheduler.RunQueue"/> cycle and learns about starts.</summary>
internal interface IQueueGate
{
    /// <summary>Why <paramref name="job"/> may not start now, or <see cref="PendingReason.None"/> when it may.</summary>
    PendingReason Check(JobRecord job);

    /// <summary><paramref name="job"/> was started.</summary>
    void OnStarted(JobRecord job);
}

/// <summary>A job a <see cref="EasyBackfillScheduler.RunQueue"/> cycle started: the nodes it holds, and whether it started behind the reservation.</summary>
internal readonly record struct QueueStart(JobRecord Job, int[] Nodes, bool Backfilled);

/// <summary>Backfill settings.</summary>
public sealed class BackfillOptions
{
    /// <summary>Whether lower-priority jobs may start ahead of a blocked higher-priority one when they do not delay it (EASY backfill). When false the queue is strict: nothing starts behind the first job that does not fit. The default is <see langword="true"/>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How many pending jobs get an estimated start time per cycle (in priority order). The default is 100.</summary>
    public int EstimateDepth { get; set; } = 100;

    /// <summary>How many pending jobs are tried per cycle at most (like <c>bf_max_job_test</c>); 0 means all. The default is 0.</summary>
    public int MaxJobTest { get; set; }
}

/// <summary>The outcome of one backfill cycle, one entry per candidate (same order). Reused between cycles.</summary>
internal sealed class BackfillResult
{
    private PendingReason[] _reasons = [];
    private bool[] _started = [];
    private long[] _estimate = [];
    private int[] _nodeOffset = [];
    private int[] _nodeCount = [];
    private readonly List<int> _nodes = [];
    private readonly List<int> _reserved = [];

    /// <summary>Number of candidates.</summary>
    public int Count { get; private set; }

    /// <summary>Number of jobs started.</summary>
    public int StartedCount { get; internal set; }

    /// <summary>Number of jobs started by backfill (behind the reservation).</summary>
    public int BackfilledCount { get; internal set; }

    /// <summary>The candidate holding the reservation, or -1.</summary>
    public int ReservationHolder { get; internal set; } = -1;

    /// <summary>When the reservation holder is expected to start (the shadow time), when there is one.</summary>
    public DateTimeOffset? ShadowTime { get; internal set; }

    /// <summary>The nodes reserved for the reservation holder.</summary>
    public IReadOnlyList<int> ReservedNodes => _reserved;

    internal List<int> ReservedList => _reserved;

    /// <summary>Whether candidate <paramref name="i"/> was started (and allocated in the snapshot).</summary>
    public bool Started(int i) => _started[i];

    /// <summary>Why candidate <paramref name="i"/> is pending (<see cref="PendingReason.None"/> when started).</summary>
    public PendingReason Reason(int i) => _reasons[i];

    /// <summary>The estimated start of candidate <paramref name="i"/> (its start time when started), or null when unknown.</summary>
    public DateTimeOffset? EstimatedStart(int i) => _estimate[i] == long.MinValue ? null : new DateTimeOffset(_estimate[i], TimeSpan.Zero);

    /// <summary>The nodes candidate <paramref name="i"/> was started on (empty when pending).</summary>
    public ReadOnlySpan<int> NodesOf(int i) => _started[i] ? System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_nodes).Slice(_nodeOffset[i], _nodeCount[i]) : [];

    internal void Reset(int count)
    {
        if (_reasons.Length < count)
        {
            int n = Math.Max(count, _reasons.Length * 2);
            _reasons = new PendingReason[n]; _started = new bool[n]; _estimate = new long[n]; _nodeOffset = new int[n]; _nodeCount = new int[n];
        }
        Array.Clear(_reasons, 0, count);
        Array.Clear(_started, 0, count);
        Array.Fill(_estimate, long.MinValue, 0, count);
        _nodes.Clear();
        _reserved.Clear();
        Count = count;
        StartedCount = 0;
        BackfilledCount = 0;
        ReservationHolder = -1;
        ShadowTime = null;
    }

    internal void SetStarted(int i, ReadOnlySpan<int> nodes, long now)
    {
        _started[i] = true;
        _reasons[i] = PendingReason.None;
        _estimate[i] = now;
        _nodeOffset[i] = _nodes.Count;
        _nodeCount[i] = nodes.Length;
        foreach (int n in nodes) _nodes.Add(n);
        StartedCount++;
    }

    internal void SetPending(int i, PendingReason reason) => _reasons[i] = reason;

    internal void SetEstimate(int i, long ticks) => _estimate[i] = ticks;

    internal long EstimateTicks(int i) => _estimate[i];
}
